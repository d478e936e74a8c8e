"""Compile the pipeline to YAML, and compare compiled files by meaning (the embedded code archive is not byte-stable).

KFP gzips the embedded step code with the current time and file mtimes in it, so two compiles of the same code differ
in bytes. :func:`normalize` replaces each archive with a digest of the files inside (what staleness means) and
compares the parsed documents.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import re
import tarfile
import tempfile
from pathlib import Path

COMPILED = Path(__file__).resolve().parent / "compiled" / "train_validate_deploy.yaml"
_ARCHIVE = re.compile(r"__KFP_EMBEDDED_ARCHIVE_B64 = '([A-Za-z0-9+/=]+)'")


def compile_yaml() -> str:
    """The pipeline compiled to KFP IR YAML, as text."""
    from kfp import compiler

    from pipelines.train_validate_deploy import train_validate_deploy

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pipeline.yaml"
        compiler.Compiler().compile(train_validate_deploy, str(out))
        return out.read_text()


def archive_digest(b64: str) -> str:
    """sha256 over the (name, content) of every file in an embedded archive, in name order."""
    digest = hashlib.sha256()
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(base64.b64decode(b64))), mode="r:") as tar:
        for member in sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name):
            content = tar.extractfile(member)
            assert content is not None  # a regular file
            digest.update(member.name.encode() + b"\0" + content.read() + b"\0")
    return digest.hexdigest()


def normalize(text: str) -> list:
    """The compiled documents, parsed, with each embedded archive replaced by :func:`archive_digest`.

    Parsed rather than compared as text because KFP's header comment lists dict defaults in no stable order.
    """
    import yaml

    text = _ARCHIVE.sub(lambda m: f"__KFP_EMBEDDED_ARCHIVE_SHA256 = '{archive_digest(m.group(1))}'", text)
    return list(yaml.safe_load_all(text))


def write_compiled(path: Path = COMPILED) -> bool:
    """Compile to ``path``; leaves an up-to-date file untouched. Returns True when the file changed."""
    text = compile_yaml()
    if path.exists() and normalize(path.read_text()) == normalize(text):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True

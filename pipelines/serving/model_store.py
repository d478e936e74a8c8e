"""Publish a model version into the stack's ``models`` bucket, where KServe's model servers may read it.

The cluster deploy copies the run's model directory to ``<models bucket URI>/<model name>/<version>/`` before it
points an InferenceService at it: the ``model-serving`` ServiceAccount reads the models bucket only (never the
pipeline artifacts), and the bucket's object lock keeps every deployed version for audit and rollback.

Versions are immutable: a version already in the bucket with other bytes is refused; the same bytes again are
accepted (re-runs are safe) and an interrupted copy of the same bytes is completed. The copy is read back and must
hash to the model's sha256 (:func:`pipelines.registry.artifact_sha256`, the digest in the lineage).

Writes go through ``fsspec`` with the protocol's filesystem: ``s3fs`` for ``s3://`` (AWS, MinIO on-prem), ``adlfs``
for the Azure ``abfss://container@account.dfs.core.windows.net`` URI (whose KServe form is the Blob endpoint
``https://account.blob.core.windows.net/container/...``), the local filesystem for ``file://`` (tests, a shared
volume). The deploy component installs the pinned packages; credentials come from the pod's identity (IRSA, Azure
workload identity, the on-prem object-store credentials file), never from this code.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from pipelines.registry import _NAME, _VERSION, VersionConflict, artifact_sha256

FILESYSTEM_PACKAGES = {"s3": "s3fs", "abfs": "adlfs", "gs": "gcsfs"}
"""The Python package each supported protocol's fsspec filesystem comes from."""
_AZURE = re.compile(r"^(?P<container>[a-z0-9-]{3,63})@(?P<account>[a-z0-9]{3,24})\.dfs\.core\.windows\.net$")


class ModelStoreError(ValueError):
    """The model store URI or filesystem cannot be used; the message names the setting and what is allowed."""


@dataclass(frozen=True)
class ModelStore:
    """Where model versions go: the fsspec protocol, its options, the root path, and the URI KServe reads."""

    protocol: str
    options: dict
    root: str
    serving_root: str

    @classmethod
    def parse(cls, uri: str) -> ModelStore:
        parsed = urlparse(uri)
        prefix = parsed.path.strip("/")
        if parsed.scheme in ("s3", "gs") and parsed.netloc:
            root = "/".join(p for p in (parsed.netloc, prefix) if p)
            return cls(parsed.scheme, {}, root, f"{parsed.scheme}://{root}")
        if parsed.scheme == "abfss" and (match := _AZURE.match(parsed.netloc)):
            root = "/".join(p for p in (match["container"], prefix) if p)
            return cls(
                "abfs",
                {"account_name": match["account"]},
                root,
                f"https://{match['account']}.blob.core.windows.net/{root}",
            )
        if parsed.scheme == "file" and not parsed.netloc and parsed.path.startswith("/"):
            root = parsed.path.rstrip("/") or "/"
            return cls("file", {}, root, f"file://{root}")
        raise ModelStoreError(
            f"model_store_uri {uri!r}: use the stack's models bucket (`pulumi stack output buckets`"
            ", key models): s3://BUCKET[/PREFIX], abfss://CONTAINER@ACCOUNT.dfs.core.windows.net"
            "[/PREFIX], gs://BUCKET[/PREFIX] or file:///ABSOLUTE/PATH"
        )

    def filesystem(self):
        import fsspec

        try:
            return fsspec.filesystem(self.protocol, **self.options)
        except ImportError as exc:
            package = FILESYSTEM_PACKAGES.get(self.protocol, "the fsspec implementation")
            raise ModelStoreError(
                f"writing models to {self.serving_root} needs the Python package {package} "
                f"(pip install {package}; the deploy component pins it): {exc}"
            ) from None

    def location(self, name: str, version: str) -> tuple[str, str]:
        """(filesystem path, KServe ``storageUri`` with a trailing slash) of one version."""
        if not _NAME.match(name):
            raise ModelStoreError(f"model name {name!r}: use lowercase letters, digits and '-' (at most 63)")
        if not _VERSION.match(version):
            raise ModelStoreError(f"model version {version!r}: letters, digits, '.', '_', '-' (at most 63)")
        path = f"{self.root.rstrip('/')}/{name}/{version}"
        return path, f"{self.serving_root.rstrip('/')}/{name}/{version}/"


def tree_sha256(files: dict[str, bytes]) -> str:
    """:func:`artifact_sha256` of a directory given as {relative posix path: bytes} (same order, same digest)."""
    digest = hashlib.sha256()
    for rel in sorted(files, key=lambda r: PurePosixPath(r).parts):
        digest.update(rel.encode() + b"\0" + files[rel] + b"\0")
    return digest.hexdigest()


def _local_files(model_dir: Path) -> dict[str, bytes]:
    return {p.relative_to(model_dir).as_posix(): p.read_bytes() for p in model_dir.rglob("*") if p.is_file()}


def _remote_files(fs, path: str) -> dict[str, str]:
    """{relative posix path: full path} of the files under ``path`` (empty when nothing is there)."""
    if not fs.exists(path):
        return {}
    return {PurePosixPath(f).relative_to(PurePosixPath(path)).as_posix(): f for f in fs.find(path)}


def publish(model_dir: Path | str, store_uri: str, name: str, version: str, sha256: str, fs=None) -> str:
    """Copy ``model_dir`` to ``<store>/<name>/<version>/`` (once) and return the URI KServe reads it from."""
    model_dir = Path(model_dir)
    actual = artifact_sha256(model_dir)
    if actual != sha256:
        raise VersionConflict(f"{model_dir} hashes to {actual}, the lineage records {sha256}; not publishing it")
    store = ModelStore.parse(store_uri)
    path, serving_uri = store.location(name, version)
    fs = fs or store.filesystem()
    local = _local_files(model_dir)
    existing = _remote_files(fs, path)
    for rel, remote in sorted(existing.items()):
        if rel not in local or fs.cat_file(remote) != local[rel]:
            there = tree_sha256({r: fs.cat_file(p) for r, p in existing.items()})
            raise VersionConflict(
                f"{name} {version} is already in the model store at {serving_uri} with sha256 "
                f"{there}; versions are immutable (this artifact has sha256 {sha256})"
            )
    for rel in sorted(set(local) - set(existing)):
        target = f"{path}/{rel}"
        fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)  # local directories; a no-op on object stores
        fs.pipe_file(target, local[rel])
    copied = tree_sha256({r: fs.cat_file(p) for r, p in _remote_files(fs, path).items()})
    if copied != sha256:
        raise ModelStoreError(f"the copy at {serving_uri} hashes to {copied}, expected {sha256}; not deploying it")
    return serving_uri


# --- what the monitor reads: each version's lineage and reference profile, and which version is promoted -------------
META_DIR = "_meta"
PROMOTIONS_DIR = "_promotions"
"""Beside the versions (``<store>/<model>/<version>/``, whose bytes must hash to the model's sha256) and out of their
namespace (a version name cannot start with ``_``). Written once per key, so an object-locked bucket keeps them."""


def _model_root(store: ModelStore, name: str) -> str:
    if not _NAME.match(name):
        raise ModelStoreError(f"model name {name!r}: use lowercase letters, digits and '-' (at most 63)")
    return f"{store.root.rstrip('/')}/{name}"


def store_metadata(store_uri: str, name: str, version: str, files: dict[str, bytes], fs=None) -> None:
    """Write ``<store>/<name>/_meta/<version>/<file>`` once each (a retried step finds them and keeps the first)."""
    store = ModelStore.parse(store_uri)
    store.location(name, version)  # checks both names
    fs = fs or store.filesystem()
    base = f"{_model_root(store, name)}/{META_DIR}/{version}"
    for filename, data in sorted(files.items()):
        target = f"{base}/{filename}"
        if not fs.exists(target):
            fs.makedirs(base, exist_ok=True)
            fs.pipe_file(target, data)


def read_metadata(store_uri: str, name: str, version: str, filename: str, fs=None) -> bytes:
    store = ModelStore.parse(store_uri)
    store.location(name, version)
    fs = fs or store.filesystem()
    path = f"{_model_root(store, name)}/{META_DIR}/{version}/{filename}"
    if not fs.exists(path):
        raise ModelStoreError(
            f"{name} {version} has no {filename} in the model store ({store.serving_root}/{name}/"
            f"{META_DIR}/{version}/); it was deployed before the deploy step stored it"
        )
    return fs.cat_file(path)


def record_promotion(store_uri: str, name: str, version: str, sha256: str, run_id: str = "", fs=None) -> dict:
    """Append ``<store>/<name>/_promotions/<UTC time>-<version>.json``: the newest entry is the stable version.

    A new object per promotion rather than one overwritten pointer: object-locked buckets refuse overwrites, and the
    entries are the promotion history. Nothing is written when ``version`` is already the newest entry.
    """
    from datetime import datetime

    store = ModelStore.parse(store_uri)
    _, serving_uri = store.location(name, version)
    fs = fs or store.filesystem()
    current = current_version(store_uri, name, fs)
    if current is not None and current["version"] == version:
        return current
    now = datetime.now(UTC)
    entry = {
        "model": name,
        "version": version,
        "sha256": sha256,
        "storageUri": serving_uri,
        "run_id": run_id,
        "promoted_at": now.isoformat(timespec="seconds"),
    }
    base = f"{_model_root(store, name)}/{PROMOTIONS_DIR}"
    fs.makedirs(base, exist_ok=True)
    fs.pipe_file(f"{base}/{now.strftime('%Y%m%dT%H%M%S%fZ')}-{version}.json", json.dumps(entry).encode())
    return entry


def current_version(store_uri: str, name: str, fs=None) -> dict | None:
    """The newest promotion entry of ``name`` (version, sha256, storageUri, run_id, promoted_at), or None."""
    store = ModelStore.parse(store_uri)
    fs = fs or store.filesystem()
    base = f"{_model_root(store, name)}/{PROMOTIONS_DIR}"
    if not fs.exists(base):
        return None
    entries = sorted(p for p in fs.find(base) if p.endswith(".json"))
    return json.loads(fs.cat_file(entries[-1])) if entries else None


def fetch_version(store_uri: str, name: str, version: str, target: Path | str, sha256: str, fs=None) -> Path:
    """Copy ``<store>/<name>/<version>/`` to ``target`` and check it hashes to ``sha256`` (what was deployed)."""
    store = ModelStore.parse(store_uri)
    path, serving_uri = store.location(name, version)
    fs = fs or store.filesystem()
    remote = _remote_files(fs, path)
    if not remote:
        raise ModelStoreError(f"{name} {version} is not in the model store at {serving_uri}")
    target = Path(target)
    for rel, full in remote.items():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_bytes(fs.cat_file(full))
    actual = artifact_sha256(target)
    if actual != sha256:
        raise ModelStoreError(
            f"the copy of {name} {version} from {serving_uri} hashes to {actual}, the promotion "
            f"record says {sha256}; not monitoring it"
        )
    return target

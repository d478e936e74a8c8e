"""Durable training checkpoints on a local/PVC path or an object store (S3, Azure Blob/ADLS) through fsspec.

Layout under a location: ``ckpt-<epoch>.pt`` payloads and ``manifest.json`` naming the current payload, its size and
its sha256. Every save writes the payload first and the manifest last (a local write is tmp + rename; an object-store
PUT is atomic per object), and the previous payload is deleted only after the new manifest is in place. So a crash
mid-save leaves the old manifest pointing at the old, intact payload: a half-written checkpoint is simply never named.

A payload whose bytes do not match its manifest (tampered, truncated, swapped) is REFUSED with
:class:`CheckpointError`, never silently skipped: silently restarting would hide an attack or a storage fault and
quietly throw away training. Payloads are loaded only with ``torch.load(weights_only=True)`` after the hash matched,
so they hold tensors, dicts, lists, tuples, strings, numbers, booleans and None only.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
FORMAT = 1

OBJECT_STORE_PROTOCOLS = {
    "s3": ("s3fs", "s3fs==2026.9.0"),
    "s3a": ("s3fs", "s3fs==2026.9.0"),
    "az": ("adlfs", "adlfs==2026.8.0"),
    "abfs": ("adlfs", "adlfs==2026.8.0"),
    "abfss": ("adlfs", "adlfs==2026.8.0"),
}
"""Schemes accepted for remote locations and the fsspec implementation each needs (pins as in constraints.txt)."""
TEST_PROTOCOLS = {"memory"}
"""fsspec's in-process filesystem: the same object-store code path, for tests."""


class CheckpointError(RuntimeError):
    """A checkpoint that exists but cannot be trusted or read."""


def filesystem(location: str | Path):
    """``(fs, root)`` for a local path, ``file://``, an object-store URI or ``memory://``; other schemes refused."""
    import fsspec

    location = str(location)
    scheme = location.split("://", 1)[0].lower() if "://" in location else ""
    if scheme in ("", "file"):
        return fsspec.filesystem("file"), os.path.abspath(location.split("://", 1)[-1])
    if scheme in OBJECT_STORE_PROTOCOLS:
        module, pin = OBJECT_STORE_PROTOCOLS[scheme]
        try:
            __import__(module)
        except ImportError as err:
            raise CheckpointError(
                f"location {location!r} needs the {module} package for {scheme}://, which is not "
                f"installed: pip install {pin}"
            ) from err
    elif scheme not in TEST_PROTOCOLS:
        allowed = ", ".join(f"{s}://" for s in sorted({*OBJECT_STORE_PROTOCOLS, *TEST_PROTOCOLS}))
        raise CheckpointError(
            f"location {location!r}: scheme {scheme}:// is not supported; use a local/PVC path, file:// or {allowed}"
        )
    fs, root = fsspec.core.url_to_fs(location)
    return fs, root.rstrip("/")


def is_remote(location: str | Path) -> bool:
    return "://" in str(location) and not str(location).startswith("file://")


def join(location: str | Path, *names: str) -> str:
    """A child location, keeping the URI scheme."""
    return "/".join([str(location).rstrip("/"), *names]) if is_remote(location) else str(Path(location, *names))


def write_bytes(location: str | Path, name: str, data: bytes) -> None:
    """Write one object/file atomically: tmp + rename locally, one PUT on an object store."""
    fs, root = filesystem(location)
    path = f"{root}/{name}"
    from fsspec.implementations.local import LocalFileSystem

    if isinstance(fs, LocalFileSystem):
        Path(root).mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=root, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    else:
        fs.pipe_file(path, data)


def read_bytes(location: str | Path, name: str) -> bytes | None:
    """The object's bytes, or None when it does not exist."""
    fs, root = filesystem(location)
    path = f"{root}/{name}"
    try:
        return fs.cat_file(path)
    except FileNotFoundError:
        return None


def copy_dir(source: str | Path, target: str | Path) -> None:
    """Copy the files directly under ``source`` (any supported location) into the local directory ``target``."""
    fs, root = filesystem(source)
    Path(target).mkdir(parents=True, exist_ok=True)
    names = [p.rsplit("/", 1)[-1] for p in fs.ls(root, detail=False)]
    if not names:
        raise CheckpointError(f"nothing to copy: {source!r} is empty or missing")
    for name in names:
        Path(target, name).write_bytes(fs.cat_file(f"{root}/{name}"))


def save(location: str | Path, epoch: int, payload: dict[str, Any]) -> str:
    """Write epoch ``epoch``'s payload, then the manifest naming it, then drop the previous payload."""
    import torch

    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getvalue()
    _check_weights_only(data)
    name = f"ckpt-{epoch:06d}.pt"
    previous = _manifest(location)
    write_bytes(location, name, data)
    manifest = {
        "format": FORMAT,
        "payload": name,
        "epoch": epoch,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    write_bytes(location, MANIFEST, json.dumps(manifest, sort_keys=True).encode())
    if previous and previous.get("payload") not in (None, name):
        fs, root = filesystem(location)
        try:
            fs.rm_file(f"{root}/{previous['payload']}")
        except FileNotFoundError:
            pass
    return name


def load(location: str | Path, map_location: str = "cpu") -> dict[str, Any] | None:
    """The latest checkpoint's payload, None when there is none; :class:`CheckpointError` when it is not trusted."""
    import torch

    manifest = _manifest(location)
    if manifest is None:
        return None
    data = read_bytes(location, manifest["payload"])
    where = join(location, manifest["payload"])
    if data is None:
        raise CheckpointError(f"checkpoint manifest {join(location, MANIFEST)} names {where}, which is missing")
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != manifest["size"] or digest != manifest["sha256"]:
        raise CheckpointError(
            f"checkpoint {where} does not match its manifest (sha256 {digest}, {len(data)} bytes; "
            f"manifest: sha256 {manifest['sha256']}, {manifest['size']} bytes): refusing to resume "
            f"from a tampered or corrupted checkpoint; inspect it, or delete {location} to start over"
        )
    try:
        return torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except Exception as err:  # the unpickler refuses anything but weights-only types
        raise CheckpointError(f"checkpoint {where} is not loadable with weights_only=True: {err}") from err


def _manifest(location: str | Path) -> dict | None:
    raw = read_bytes(location, MANIFEST)
    if raw is None:
        return None
    try:
        manifest = json.loads(raw)
        if manifest.get("format") != FORMAT or not {"payload", "epoch", "size", "sha256"} <= manifest.keys():
            raise ValueError(f"unexpected fields {sorted(manifest)}")
        if "/" in manifest["payload"] or manifest["payload"].startswith("."):
            raise ValueError(f"payload name {manifest['payload']!r} is not a plain file name")
    except (ValueError, AttributeError) as err:
        raise CheckpointError(f"checkpoint manifest {join(location, MANIFEST)} is unreadable: {err}") from err
    return manifest


def _check_weights_only(data: bytes) -> None:
    """Refuse to write what could not be read back with ``weights_only=True`` (fail at save, not at resume)."""
    import torch

    try:
        torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(
            f"checkpoint payload is not weights_only-loadable (convert it to tensors, dicts, lists and numbers): {err}"
        ) from err

"""Erasure of one data subject (GDPR Art. 17, UAE PDPL Art. 15) across the feature store and pipeline artifacts.

What is erased, each step atomic and idempotent so a run that is killed halfway converges when run again:

- the offline store: every parquet source the Feast registry names is rewritten without the subject's rows
  (written to a temporary file, then renamed over the source);
- the online store: the subject's entries in every feature view (SQLite and PostgreSQL: the rows of the entity key;
  Redis: the entity key's hash), deleted through the store's own connection settings;
- artifacts: every parquet file (dataset snapshots, training frames) under the given roots (local paths, or
  ``s3://`` URIs through pyarrow's filesystem) that holds the subject, rewritten without its rows.

Every run appends an erasure record to ``<root>/erasure/log.jsonl``: where, what and how many rows, when, who, and
whether it completed; the subject appears only as a keyed hash (HMAC-SHA256 with a secret the organisation holds),
never in clear. A step that fails is named in the record and the run fails (exit 1): erasure never reports success
with something left behind. Trained models are not rewritten: a model trained on the subject's rows is retired by
retraining (the record lists the artifacts that held the subject).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipelines.features import schema

KEY_ENV = "MLOPS_ERASURE_KEY"
"""The HMAC key (hex) for subject hashes; without it a local 256-bit key is kept in ``<root>/erasure/key`` (0600)."""
ONLINE_STORES = ("sqlite", "redis", "postgres")


class ErasureError(Exception):
    """Input the erasure cannot act on (no store, a bad key); the message is for the user."""


@dataclass
class Step:
    store: str
    """offline, online or artifacts."""
    location: str
    removed: int = 0
    error: str = ""


@dataclass
class ErasureRecord:
    subject: str
    """HMAC-SHA256 of the subject id: lets a later request be matched to this one without keeping the id."""
    actor: str
    started: str
    finished: str = ""
    steps: list[Step] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return all(not s.error for s in self.steps)

    @property
    def failures(self) -> list[Step]:
        return [s for s in self.steps if s.error]

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "complete": self.complete}, sort_keys=True)


def subject_hash(subject_id: int, key: bytes) -> str:
    return hmac.new(key, str(subject_id).encode(), hashlib.sha256).hexdigest()


def erasure_key(root: Path) -> bytes:
    """The organisation's key from ``MLOPS_ERASURE_KEY``, else a local key created once (readable by its owner only)."""
    given = os.environ.get(KEY_ENV)
    if given:
        try:
            key = bytes.fromhex(given)
        except ValueError:
            raise ErasureError(f"{KEY_ENV} must be hex (32 bytes or more), got something else") from None
        if len(key) < 32:
            raise ErasureError(f"{KEY_ENV} must hold at least 32 bytes (64 hex digits)")
        return key
    path = root / "erasure" / "key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def erase_subject(
    subject_id: int, *, feature_repo: Path, artifact_roots: list[str], log_dir: Path, actor: str | None = None
) -> ErasureRecord:
    """Erase ``subject_id`` everywhere listed; append the record to ``log_dir/log.jsonl`` and return it."""
    from pipelines.features.store import LocalFeatureStore

    store = LocalFeatureStore(feature_repo)
    if not (store.root / "feature_store.yaml").exists():
        raise ErasureError(
            f"{store.root / 'feature_store.yaml'} is missing: give --feature-repo, the Feast repository to erase from"
        )
    record = ErasureRecord(
        subject=subject_hash(subject_id, erasure_key(log_dir.parent)), actor=actor or _actor(), started=_now()
    )
    try:
        feast_store = store.feast()
    except Exception as exc:  # noqa: BLE001 - a repository Feast cannot load is bad input, named
        raise ErasureError(f"{store.root}: Feast cannot load the repository: {type(exc).__name__}: {exc}") from None
    with store._exclusive():  # no ingestion or materialization of the repository while it is rewritten
        record.steps += _listed("offline", str(store.root), lambda: erase_offline(feast_store, subject_id))
        record.steps += _listed("online", str(store.root), lambda: erase_online(feast_store, subject_id))
    for root in artifact_roots:
        record.steps += erase_artifacts(root, subject_id)
    record.finished = _now()
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / "log.jsonl", "a") as log:
        log.write(record.to_json() + "\n")
        log.flush()
        os.fsync(log.fileno())
    return record


def erase_offline(feast_store, subject_id: int) -> list[Step]:
    """Rewrite every file source the registry names (feature views' and entity sources) without the subject's rows."""
    paths = {s.path for s in feast_store.list_data_sources() if getattr(s, "path", None)}
    return [_guarded(Step("offline", path), lambda p=path: _rewrite_source(p, subject_id)) for path in sorted(paths)]


def erase_online(feast_store, subject_id: int) -> list[Step]:
    """Delete the subject's online entries in every feature view, through the configured online store."""
    from feast.infra.key_encoding_utils import serialize_entity_key
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value

    config = feast_store.config
    kind = config.online_store.type
    entity = EntityKey(join_keys=[schema.ENTITY_KEY], entity_values=[Value(int64_val=subject_id)])
    key = serialize_entity_key(entity, entity_key_serialization_version=config.entity_key_serialization_version)
    if kind not in ONLINE_STORES:
        return [
            Step(
                "online",
                f"{kind} online store",
                error=f"online store type {kind!r} is not supported for "
                f"erasure (supported: {', '.join(ONLINE_STORES)}); erase the subject there by hand",
            )
        ]
    if kind == "redis":  # one hash per entity key, holding every feature view's values
        from feast.infra.online_stores.helpers import _redis_key
        from feast.infra.online_stores.redis import RedisOnlineStore

        redis_key = _redis_key(config.project, entity, config.entity_key_serialization_version)
        location = f"redis {config.online_store.connection_string.split(',')[0]}"  # host:port, never the password
        return [
            _guarded(
                Step("online", location), lambda: RedisOnlineStore()._get_client(config.online_store).delete(redis_key)
            )
        ]
    from feast.infra.online_stores.helpers import compute_table_id

    steps = []
    for view in feast_store.list_feature_views():
        table = compute_table_id(config.project, view)
        steps.append(
            _guarded(Step("online", f"{kind} table {table}"), lambda t=table: _delete_rows(config, kind, t, key))
        )
    return steps


def _delete_rows(config, kind: str, table: str, key: bytes) -> int:
    if kind == "sqlite":
        import sqlite3

        from feast.infra.online_stores.sqlite import SqliteOnlineStore

        db = sqlite3.connect(SqliteOnlineStore()._get_db_path(config))  # the file the store itself opens
        try:
            with db:
                exists = db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone()
                return db.execute(f'DELETE FROM "{table}" WHERE entity_key = ?', (key,)).rowcount if exists else 0
        finally:
            db.close()
    from feast.infra.utils.postgres.connection_utils import _get_conn
    from psycopg import sql

    with _get_conn(config.online_store) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass(%s)", (table,))
        row = cur.fetchone()
        if row is None:  # to_regclass answers one row, NULL for no such table
            raise RuntimeError(f"SELECT to_regclass({table!r}) returned no row")
        if row[0] is None:
            return 0
        cur.execute(sql.SQL("DELETE FROM {} WHERE entity_key = %s").format(sql.Identifier(table)), (key,))
        removed = cur.rowcount
        conn.commit()
        return removed


def erase_artifacts(root: str, subject_id: int) -> list[Step]:
    """Rewrite every parquet file under ``root`` (a path or ``s3://`` URI) that holds the subject's rows."""
    import pyarrow.fs as pafs

    try:
        fs, base = pafs.FileSystem.from_uri(root if "://" in root else str(Path(root).resolve()))
        infos = fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
    except Exception as exc:  # noqa: BLE001 - any filesystem failure is reported as this root not erased
        return [Step("artifacts", root, error=f"cannot list {root}: {type(exc).__name__}: {exc}")]
    steps = []
    for info in infos:
        if info.type == pafs.FileType.File and info.path.endswith(".parquet"):
            location = info.path if "://" not in root else f"{root.split('://')[0]}://{info.path}"
            step = _guarded(Step("artifacts", location), lambda p=info.path: _rewrite_parquet(p, subject_id, fs))
            if step.removed or step.error:
                steps.append(step)
    return steps


def _rewrite_source(source: str, subject_id: int) -> int:
    """A Feast file source: a local path, or an object-store URI (``s3://``) through pyarrow's filesystem."""
    if "://" not in source:
        return _rewrite_parquet(source, subject_id)
    import pyarrow.fs as pafs

    fs, path = pafs.FileSystem.from_uri(source)
    return _rewrite_parquet(path, subject_id, fs)


def _rewrite_parquet(path: str, subject_id: int, fs=None) -> int:
    """Rows of the subject removed from one parquet file, written to a temporary file then renamed over it."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path, filesystem=fs)
    if schema.ENTITY_KEY not in table.column_names:
        return 0
    keep = pc.invert(pc.fill_null(pc.equal(table[schema.ENTITY_KEY], subject_id), False))
    kept = table.filter(keep)
    removed = table.num_rows - kept.num_rows
    if not removed:
        return 0
    if fs is None or type(fs).__name__ == "LocalFileSystem":
        directory = os.path.dirname(path)
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".parquet.tmp")
        os.close(fd)
        try:
            pq.write_table(kept, tmp)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    else:  # object stores replace an object atomically on write
        pq.write_table(kept, path, filesystem=fs)
    return removed


def _listed(store: str, location: str, action) -> list[Step]:
    """The steps ``action`` returns, or one failed step when it cannot even list what to erase (registry down)."""
    try:
        return action()
    except Exception as exc:  # noqa: BLE001 - fail closed: named in the record, the run exits non-zero
        return [Step(store, location, error=f"{type(exc).__name__}: {exc}")]


def _guarded(step: Step, action) -> Step:
    """Run one erasure action; its failure is recorded on the step (named, never raised past the other steps)."""
    try:
        step.removed = int(action())
    except Exception as exc:  # noqa: BLE001 - fail closed: every failure is reported, the run exits non-zero
        step.error = f"{type(exc).__name__}: {exc}"
    return step


def _actor() -> str:
    """Who erases, as the registry records its actors (the pod's ServiceAccount, the CLI's OIDC subject, the OS user)."""
    from pipelines.registry import current_actor

    return current_actor()["subject"]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")

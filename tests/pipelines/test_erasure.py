"""`mlops data erase` against a real embedded Feast store (DuckDB offline, SQLite online) and dataset snapshots:
after erasure the subject is gone from historical retrieval, online reads and artifacts, every other subject is
intact, the record keeps no subject id in clear, reruns are no-ops, a run killed halfway converges when rerun, and
what cannot be erased is named with a non-zero exit."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from infra.cli import app
from pipelines.features import schema
from pipelines.privacy import erasure


@pytest.fixture
def run_root(tmp_path):
    """A local run root: a bootstrapped, materialized store and a dataset snapshot of two subjects and others."""
    from pipelines.features.store import LocalFeatureStore

    store = LocalFeatureStore(tmp_path / "feature_repo")
    store.bootstrap(rows=1000, seed=5, progress=lambda _: None)
    store.materialize()
    apps = store.entity_rows()
    snapshot = tmp_path / "pipeline" / "run-1" / "dataset.parquet"
    snapshot.parent.mkdir(parents=True)
    store.historical(apps.drop(columns=[schema.LABEL])).frame.to_parquet(snapshot)
    subject, other = (int(i) for i in apps[schema.ENTITY_KEY].drop_duplicates().head(2))
    return {"root": tmp_path, "store": store, "snapshot": snapshot, "subject": subject, "other": other}


def _online(store, applicant: int) -> dict:
    service = store.feast().get_feature_service(schema.FEATURE_SERVICE)
    row = store.feast().get_online_features(features=service, entity_rows=[{schema.ENTITY_KEY: applicant}]).to_dict()
    return {k: v[0] for k, v in row.items() if k != schema.ENTITY_KEY}


def _rows(store, applicant: int) -> dict[str, int]:
    return {
        t: int((pd.read_parquet(store.source_path(t))[schema.ENTITY_KEY] == applicant).sum()) for t in schema.TABLES
    }


def _erase(run_root, *extra: str):
    return CliRunner().invoke(
        app,
        [
            "data",
            "erase",
            "--subject-id",
            str(run_root["subject"]),
            "--root",
            str(run_root["root"]),
            "--actor",
            "dpo@example.ae",
            *extra,
        ],
    )


def _log(run_root) -> list[dict]:
    return [json.loads(line) for line in (run_root["root"] / "erasure" / "log.jsonl").read_text().splitlines()]


def test_erasure_removes_the_subject_everywhere_and_keeps_the_others(run_root):
    store, subject, other = run_root["store"], run_root["subject"], run_root["other"]
    before_other = _rows(store, other)
    assert all(v is not None for v in _online(store, subject).values())
    assert sum(_rows(store, subject).values()) > 0
    snapshot = pd.read_parquet(run_root["snapshot"])
    subject_rows, total_rows = int((snapshot[schema.ENTITY_KEY] == subject).sum()), len(snapshot)
    assert subject_rows > 0

    result = _erase(run_root)
    assert result.exit_code == 0, result.output
    assert "erased" in result.output

    assert _rows(store, subject) == {t: 0 for t in schema.TABLES}
    assert all(v is None for v in _online(store, subject).values())  # online: nothing for the subject
    assert all(v is not None for v in _online(store, other).values())
    assert _rows(store, other) == before_other
    assert subject not in set(store.entity_rows()[schema.ENTITY_KEY])  # no training rows for the subject
    asked = pd.DataFrame(
        {schema.ENTITY_KEY: [subject, other], schema.TIMESTAMP: [pd.Timestamp("2030-01-01", tz="UTC")] * 2}
    )
    frame = store.historical(asked).frame.set_index(schema.ENTITY_KEY)
    features = [f.name for f in schema.service_fields()]
    profile = [f.name for f in schema.APPLICANT_PROFILE.features]  # long TTL: still valid in 2030 for the others
    assert frame.loc[subject, features].isna().all() and frame.loc[other, profile].notna().all()
    snapshot = pd.read_parquet(run_root["snapshot"])
    assert subject not in set(snapshot[schema.ENTITY_KEY]) and other in set(snapshot[schema.ENTITY_KEY])
    assert len(snapshot) == total_rows - subject_rows

    [record] = _log(run_root)
    assert record["complete"] and record["actor"] == "dpo@example.ae" and record["finished"]
    key = erasure.erasure_key(run_root["root"])
    assert record["subject"] == erasure.subject_hash(subject, key) and len(record["subject"]) == 64
    assert schema.ENTITY_KEY not in json.dumps(record)
    removed = {(s["store"], s["location"].rsplit("/", 1)[-1]): s["removed"] for s in record["steps"]}
    assert removed[("artifacts", "dataset.parquet")] == subject_rows
    assert removed[("offline", "loan_applications.parquet")] >= 1
    assert sum(n for (where, _), n in removed.items() if where == "online") > 0

    again = _erase(run_root)  # idempotent: nothing left to remove, still complete
    assert again.exit_code == 0, again.output
    assert sum(s["removed"] for s in _log(run_root)[-1]["steps"]) == 0


def test_a_run_killed_halfway_converges_when_rerun(run_root, monkeypatch):
    store, subject = run_root["store"], run_root["subject"]

    def killed(*_args, **_kwargs):
        raise KeyboardInterrupt  # the process dies between the offline rewrite and the online delete

    monkeypatch.setattr(erasure, "erase_online", killed)
    with pytest.raises(KeyboardInterrupt):
        erasure.erase_subject(
            subject,
            feature_repo=store.root,
            artifact_roots=[str(run_root["root"])],
            log_dir=run_root["root"] / "erasure",
        )
    assert _rows(store, subject) == {t: 0 for t in schema.TABLES}
    assert any(v is not None for v in _online(store, subject).values())  # half done: still served online
    assert not list(store.data_dir.glob("*.tmp"))
    monkeypatch.undo()

    result = _erase(run_root)
    assert result.exit_code == 0, result.output
    assert all(v is None for v in _online(store, subject).values())
    assert _log(run_root)[-1]["complete"]


def test_what_cannot_be_erased_is_named_and_fails(run_root):
    result = _erase(run_root, "--artifacts", "ftp://archive.example/datasets")
    assert result.exit_code == 1
    assert "could not erase: artifacts ftp://archive.example/datasets" in " ".join(result.output.split())
    record = _log(run_root)[-1]
    assert not record["complete"] and record["steps"][-1]["error"].startswith("cannot list")
    assert all(v is None for v in _online(run_root["store"], run_root["subject"]).values())  # the rest was erased


def test_without_a_feature_repository_nothing_is_done(tmp_path):
    result = CliRunner().invoke(app, ["data", "erase", "--subject-id", "7", "--root", str(tmp_path)])
    assert result.exit_code == 2 and "feature_store.yaml is missing" in " ".join(result.output.split())
    assert not (tmp_path / "erasure" / "log.jsonl").exists()

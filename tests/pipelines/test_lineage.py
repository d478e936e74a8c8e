"""Lineage records: required fields, `mlops lineage` as a table and as JSON, and clear failures."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from infra.cli import app
from pipelines.lineage import LineageIncomplete, build_record, git_commit, rows

DATA = {
    "feature_service": "credit_risk_v1",
    "time_range": ["2024-07-01", "2026-01-01"],
    "rows_asked": 1200,
    "rows_got": 1200,
    "data_hash": "d" * 64,
}


def _record(**overrides):
    args = {
        "model_name": "credit-risk",
        "version": "v1",
        "data": DATA,
        "git": "abc123",
        "parameters": {"strategy": "canary"},
        "metrics": {"auc": 0.81234},
        "artifact_uri": "/kfp/run/best_model",
        "sha256": "e" * 64,
        "gate": {"decision": "deploy", "reasons": []},
        "pipeline_run": "run-1",
    }
    return build_record(**{**args, **overrides})


def test_a_record_carries_every_required_field_and_refuses_gaps():
    record = _record()
    assert record["rows_got"] == 1200 and record["gate"]["decision"] == "deploy"
    with pytest.raises(LineageIncomplete, match="data_hash"):
        _record(data={**DATA, "data_hash": None})
    with pytest.raises(LineageIncomplete, match="metrics, artifact_uri"):
        _record(metrics={}, artifact_uri="")
    text = dict(rows({**record, "deployments": [{"at": "t", "outcome": "rolled_back", "restored": "v0"}]}))
    assert text["metric auc"] == "0.8123" and "restored=v0" in text["deployment t"]


def test_git_commit_names_this_checkout():
    commit = git_commit()
    assert commit == "unknown" or len(commit.split("-")[0]) == 40


@pytest.fixture
def registered(tmp_path):
    from pipelines.registry import LocalRegistry

    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.pt").write_text("w")
    registry = LocalRegistry(tmp_path / "registry")
    registry.register("credit-risk", tmp_path / "model", "v1", _record())
    registry.record_deployment("credit-risk", "v1", {"outcome": "rolled_back", "restored": "v0", "strategy": "canary"})
    return tmp_path


def test_lineage_command_prints_a_table_and_json(registered):
    from pipelines.registry import artifact_sha256

    sha = artifact_sha256(registered / "model")
    runner = CliRunner()
    table = runner.invoke(app, ["lineage", "v1", "--root", str(registered)], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    for expected in ("credit_risk_v1", "1200 / 1200", "abc123", sha, "deploy", "rolled_back", "restored=v0"):
        assert expected in table.output
    as_json = json.loads(runner.invoke(app, ["lineage", "v1", "--root", str(registered), "--json"]).output)
    assert as_json["sha256"] == sha and as_json["data_hash"] == "d" * 64
    assert as_json["deployments"][0]["restored"] == "v0" and as_json["registered_at"]
    missing = runner.invoke(app, ["lineage", "v7", "--root", str(registered)])
    assert missing.exit_code == 2 and "no model version 'v7'" in missing.output and "Traceback" not in missing.output

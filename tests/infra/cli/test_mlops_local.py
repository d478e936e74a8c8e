"""`mlops local`: the embedded default end to end, and failures that name their step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.cli import app

runner = CliRunner()


def test_a_failing_step_is_named_with_its_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from policies import gate

    def broken_gate(*args, **kwargs):
        raise gate.GateError("Checkov is missing: /nonexistent/checkov")

    monkeypatch.setattr(gate, "run_gate", broken_gate)
    monkeypatch.setattr(gate, "collect_inputs", lambda **kwargs: [])
    result = runner.invoke(app, ["local", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert "step 'policy gate' failed: Checkov is missing" in result.output
    assert "[2/3]" not in result.output, "nothing after the failed step runs"


def test_bad_rows_is_refused_by_the_pipeline_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from infra.cli import local

    monkeypatch.setattr(local, "gate_all_stacks", lambda root, say: {})
    result = runner.invoke(app, ["local", "--root", str(tmp_path), "--rows", "10"])
    assert result.exit_code == 1
    assert "step 'pipeline' failed" in result.output


@pytest.mark.slow
def test_make_local_runs_everything_and_is_safe_to_rerun(tmp_path: Path) -> None:
    args = ["local", "--root", str(tmp_path)]  # the defaults `make local` uses (a smaller run may be gated out)
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    for step in ("[1/3] policy gate", "[2/3] pipeline", "[3/3] serve"):
        assert step in first.output
    assert "default probability" in first.output
    gate = json.loads((tmp_path / "reports" / "gate.json").read_text())
    assert {s["stack"] for s in gate["stacks"]} == {"aws-uae-prod", "azure-uae-prod", "onprem-dc1"}
    # The two Azure MySQL suppressions await a security approver (policies/suppressions/approvers.yaml): the gate
    # refuses them, says so loudly, and the local run (which deploys no cloud stack) goes on.
    failed = {(s["stack"], f["checkId"]) for s in gate["stacks"] for f in s["findings"] if f["status"] == "FAILED"}
    assert gate["exitCode"] == 1 and failed == {("azure-uae-prod", "CKV_AZURE_94"), ("azure-uae-prod", "CKV_AZURE_96")}
    assert "GATE REFUSES 2 finding(s)" in first.output and "not a configured approver" in first.output
    assert (tmp_path / "reports" / "gate.html").read_text().startswith("<!DOCTYPE html>")
    assert "mlops lineage v1" in first.output

    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "mlops lineage v2" in second.output, "a re-run registers a new version and keeps the old one"
    lineage = runner.invoke(app, ["lineage", "v1", "--root", str(tmp_path), "--json"])
    assert lineage.exit_code == 0 and json.loads(lineage.output)["version"] == "v1"

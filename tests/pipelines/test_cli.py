"""`mlops pipeline` commands: compile keeps the committed file, run without --local refuses clearly."""

from __future__ import annotations

from typer.testing import CliRunner

from infra.cli import app


def test_pipeline_run_requires_local_and_validates_rows():
    runner = CliRunner()
    result = runner.invoke(app, ["pipeline", "run"])
    assert result.exit_code == 2 and "only --local" in result.output
    result = runner.invoke(app, ["pipeline", "run", "--local", "--rows", "5"])
    assert result.exit_code == 2 and "--rows must be between" in result.output


def test_pipeline_compile_writes_the_yaml(tmp_path):
    result = CliRunner().invoke(app, ["pipeline", "compile", "--output", str(tmp_path / "p.yaml")])
    assert result.exit_code == 0, result.output
    assert (
        "gpus_per_node" in (tmp_path / "p.yaml").read_text()
        and "search-hyperparameters" in (tmp_path / "p.yaml").read_text()
    )
    again = CliRunner().invoke(app, ["pipeline", "compile", "--output", str(tmp_path / "p.yaml")])
    assert "up to date" in again.output


def _fake_run(tmp_path, decision: str):
    """A finished local run as run_local returns it, with a real gate report on disk."""
    import json

    from pipelines.local_run import LocalRunResult, gate_reasons

    report = tmp_path / "release-gate" / "report"
    report.parent.mkdir(parents=True)
    result = {"decision": decision, "reasons": ["auc 0.61 < 0.70"] if decision == "reject" else [], "checks": []}
    report.write_text(f"# Release gate\n\n```json\n{json.dumps(result)}\n```\n")
    return LocalRunResult(
        run_id="r1",
        run_dir=tmp_path,
        log=tmp_path / "log",
        decision=decision,
        seconds=1.0,
        reports={"gate": report},
        metrics={"auc": 0.61},
        gate_reasons=gate_reasons(report),
        deployment={"version": "v1", "outcome": "promoted"} if decision == "deploy" else {},
    )


def test_pipeline_run_exits_1_when_the_gate_rejects_and_names_the_report(tmp_path, monkeypatch):
    """Old bug: `mlops pipeline run --local` exited 0 when the release gate rejected the model."""
    import pipelines.local_run

    monkeypatch.setattr(pipelines.local_run, "run_local", lambda **_: _fake_run(tmp_path, "reject"))
    result = CliRunner().invoke(app, ["pipeline", "run", "--local", "--root", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "release gate rejected the model" in result.output and "auc 0.61 < 0.70" in result.output
    assert str(tmp_path / "release-gate" / "report") in result.output.replace("\n", "")


def test_pipeline_run_exits_0_only_when_the_model_was_deployed(tmp_path, monkeypatch):
    import pipelines.local_run

    monkeypatch.setattr(pipelines.local_run, "run_local", lambda **_: _fake_run(tmp_path, "deploy"))
    result = CliRunner().invoke(app, ["pipeline", "run", "--local", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "pipeline run r1 finished" in result.output and "deployed v1: promoted" in result.output


def test_a_failed_run_that_got_past_the_gate_points_to_the_gate_report(tmp_path, monkeypatch):
    """A pipeline step that fails the run on a rejection still leads the reader to the gate's report."""
    import pipelines.local_run
    from pipelines.local_run import LocalRunFailed

    rejected = _fake_run(tmp_path, "reject")

    def failing(**_):
        raise LocalRunFailed("Task release-rejected failed", rejected.reports, rejected.gate_reasons)

    monkeypatch.setattr(pipelines.local_run, "run_local", failing)
    result = CliRunner().invoke(app, ["pipeline", "run", "--local", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert "release-rejected" in result.output and "auc 0.61 < 0.70" in result.output
    assert "gate report:" in result.output


def test_pipeline_run_help_says_when_it_exits_non_zero():
    result = CliRunner().invoke(app, ["pipeline", "run", "--help"])
    assert "release gate" in result.output and "rejected" in result.output

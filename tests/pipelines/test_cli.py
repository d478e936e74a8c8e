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
    assert "nvidia.com/gpu" in (tmp_path / "p.yaml").read_text()
    again = CliRunner().invoke(app, ["pipeline", "compile", "--output", str(tmp_path / "p.yaml")])
    assert "up to date" in again.output

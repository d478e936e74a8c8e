"""The whole pipeline, end to end, on the embedded Feast store with KFP's local SubprocessRunner."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_local_run_trains_evaluates_and_gates_with_reports(tmp_path):
    from pipelines.local_run import run_local

    lines: list[str] = []
    result = run_local(root=tmp_path, rows=3_000, max_epochs=2, echo=lines.append)
    assert result.decision in ("deploy", "reject")
    assert all(path.exists() for path in result.reports.values()), result.reports
    assert any("asked for" in line and "got" in line for line in lines)
    assert sum("finished with status SUCCESS" in line for line in lines) >= 8  # 6 steps, 3 trials
    selection = json.loads((result.reports["model"] / "selection.json").read_text())
    assert len(selection["trials"]) == 3
    assert result.metrics["auc"] > 0.6
    assert list((tmp_path / "checkpoints").glob("*/*/last.pt")), "training did not checkpoint"


@pytest.mark.slow
def test_a_failing_step_is_named_and_the_run_stops(tmp_path):
    from pipelines.local_run import LocalRunFailed, run_local

    with pytest.raises(LocalRunFailed, match="validate-data"):
        run_local(root=tmp_path, rows=3_000, max_epochs=1, echo=lambda _: None, max_psi=0.0)

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
    assert sum("finished with status SUCCESS" in line for line in lines) >= 9  # 7 steps, 3 trials
    assert any("materialized features" in line for line in lines)
    assert result.log.name == f"pipeline-{result.run_id}.log" and result.run_dir.parent.name == result.run_id
    selection = json.loads((result.reports["model"] / "selection.json").read_text())
    assert len(selection["trials"]) == 3
    assert result.metrics["auc"] > 0.6
    assert list((tmp_path / "checkpoints").glob("*/*/last.pt")), "training did not checkpoint"


@pytest.mark.slow
def test_a_failing_step_is_named_and_the_run_stops(tmp_path):
    from pipelines.local_run import LocalRunFailed, run_local

    with pytest.raises(LocalRunFailed, match="validate-data"):
        run_local(root=tmp_path, rows=3_000, max_epochs=1, echo=lambda _: None, max_psi=0.0)


@pytest.mark.slow
def test_a_batch_that_fails_validation_never_reaches_the_online_store(tmp_path):
    """Old bug: bootstrap materialized before validate-data ran, so a rejected batch was already being served."""
    from pipelines.features.store import LocalFeatureStore
    from pipelines.local_run import LocalRunFailed, run_local

    with pytest.raises(LocalRunFailed, match="validate-data") as failed:
        run_local(root=tmp_path, rows=3_000, max_epochs=1, echo=lambda _: None, max_psi=0.0)
    assert "data validation" in failed.value.reports, "the failed run still names its validation report"
    windows = LocalFeatureStore(tmp_path / "feature_repo").materialized()
    assert windows and not any(windows.values()), f"the online store was loaded: {windows}"


def _processes_mentioning(marker: str, exclude: set[int]) -> dict[int, str]:
    """Live processes whose command line contains ``marker`` (scanning /proc; psutil is not a dependency)."""
    from pathlib import Path

    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in exclude:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found[int(entry.name)] = cmdline
    return found


@pytest.mark.slow
def test_sigterm_to_a_local_run_ends_its_task_processes(tmp_path):
    """Old bug: SIGTERM to `mlops pipeline run --local` left the KFP task processes (training) running."""
    import os
    import signal
    import subprocess
    import sys
    import time

    runner = subprocess.Popen([sys.executable, "-m", "infra.cli", "pipeline", "run", "--local", "--root", str(tmp_path),
                               "--rows", "3000", "--max-epochs", "200"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        deadline = time.monotonic() + 300
        while not any("train_model" in c for c in _processes_mentioning(str(tmp_path), {runner.pid}).values()):
            assert runner.poll() is None, runner.communicate()[0]
            assert time.monotonic() < deadline, "training never started"
            time.sleep(0.5)
        time.sleep(1)  # mid-training
        runner.send_signal(signal.SIGTERM)
        output = runner.communicate(timeout=120)[0]
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 1, output
    assert "interrupted by SIGTERM" in output
    deadline = time.monotonic() + 30
    while (left := _processes_mentioning(str(tmp_path), {runner.pid})) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, f"task processes outlived the run: { {pid: c[:200] for pid, c in left.items()} }"

"""The whole pipeline, end to end, on the embedded Feast store with KFP's local SubprocessRunner."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest


def _lenient_policy_tree(into: Path) -> Path:
    """A copy of ``pipelines/``, ``policies/`` and ``components/`` (embedded GPU names) whose reviewed fairness policy is as lenient as the policy schema
    allows, for tests about the release mechanics rather than fairness: 3 000 synthetic rows cannot show the
    organisation's floors (a group needs 100 held-out rows), so under the real policy every small run is rejected."""
    import shutil

    repo = Path(__file__).resolve().parents[2]
    for package in ("pipelines", "policies", "components"):
        shutil.copytree(repo / package, into / package, ignore=shutil.ignore_patterns("__pycache__", "compiled"))
    policy = into / "policies" / "fairness.yaml"
    text = policy.read_text().replace("min_group_size: 100", "min_group_size: 1")
    text = re.sub(r"max_difference: [0-9.]+", "max_difference: 1.0", text)
    policy.write_text(re.sub(r"min_ratio: [0-9.]+", "min_ratio: 0.0", text))
    return into


@pytest.mark.slow
def test_local_run_trains_evaluates_and_gates_with_reports(tmp_path):
    """3 000 rows under the organisation's fairness policy: the run trains, evaluates and mitigates, and the gate
    rejects (groups too small to judge), which fails the run naming the gate's reasons and every report."""
    from pipelines.local_run import LOCAL_SEARCH_TRIALS, LocalRunFailed, run_local

    lines: list[str] = []
    with pytest.raises(LocalRunFailed, match="release-rejected") as rejected:
        run_local(root=tmp_path, rows=3_000, max_epochs=2, echo=lines.append)
    failure = rejected.value
    assert any("age_band/group_size: too few held-out rows" in reason for reason in failure.gate_reasons)
    assert {"data validation", "evaluation", "gate", "model"} <= set(failure.reports), failure.reports
    assert all(path.exists() for path in failure.reports.values()), failure.reports
    assert "lineage" not in failure.reports, "a rejected model was deployed"
    assert any("asked for" in line and "got" in line for line in lines)
    assert sum("finished with status SUCCESS" in line for line in lines) >= 8  # load .. gate, before the refusal
    assert any("materialized features" in line for line in lines)
    log = next((tmp_path / "logs").glob("pipeline-*.log"))
    assert str(log) in str(failure), "the failure names this run's own log"
    study = json.loads(failure.reports["hyperparameter search"].read_text())
    assert study["engine"] == "optuna" and study["n_trials"] == LOCAL_SEARCH_TRIALS, study
    assert json.loads((failure.reports["model"] / "summary.json").read_text())["world_size"] == 2, "not DDP"
    evaluation = failure.reports["evaluation"].read_text()
    assert re.search(r"\bauc\b", evaluation), evaluation[:500]
    assert list((tmp_path / "checkpoints").glob("*/*/checkpoints/manifest.json")), "training did not checkpoint"


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

    runner = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.cli",
            "pipeline",
            "run",
            "--local",
            "--root",
            str(tmp_path),
            "--rows",
            "3000",
            "--max-epochs",
            "200",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
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


@pytest.mark.slow
def test_two_concurrent_local_runs_on_one_root_each_judge_their_own_version(tmp_path):
    """Old bugs: concurrent runs promoted or rolled back each other's candidate, reported a version they never
    judged, raced next_version() into VersionConflict, and shared a log name and "the newest run dir"."""
    import os
    import subprocess
    import sys

    from pipelines.registry import LocalRegistry

    source = _lenient_policy_tree(tmp_path / "source")  # both runs must deploy
    script = (
        "import json, sys; from pipelines.local_run import run_local; "
        "r = run_local(root=sys.argv[1], rows=3000, max_epochs=2, echo=lambda _: None, "
        "batch_size=int(sys.argv[2]), min_auc=0.5, max_ece=0.5, max_robustness_drop=1.0); "  # a lenient gate
        "print(json.dumps({'run_id': r.run_id, 'decision': r.decision, 'log': str(r.log), "
        "'run_dir': str(r.run_dir), **r.deployment}))"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path), str(batch)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=source,
            env={**os.environ, "PYTHONPATH": str(source)},
        )
        for batch in (256, 512)
    ]  # different models, so two versions roll out at once
    results = []
    for run in runs:
        out, err = run.communicate(timeout=900)
        assert run.returncode == 0, err[-3000:]
        assert "VersionConflict" not in err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert len({r["run_id"] for r in results}) == 2 and len({r["log"] for r in results}) == 2
    assert len({r["run_dir"] for r in results}) == 2
    assert [r["decision"] for r in results] == ["deploy", "deploy"], results
    assert {r["version"] for r in results} == {"v1", "v2"}, results
    registry = LocalRegistry(tmp_path / "registry")
    for result in results:
        version = registry.get("credit-risk", result["version"])
        judged = [d for d in version.lineage["deployments"] if d.get("outcome") == result["outcome"]]
        assert judged, f"run {result['run_id']} reports {result['outcome']} for {result['version']}, not recorded"
        assert version.lineage["pipeline_run"] == result["run_id"] or result["outcome"] == "unchanged"
    history = registry.history("credit-risk")
    for i, event in enumerate(history):
        if event["action"] == "rollout":  # every rollout ends with its own version's promote or rollback
            after = [e for e in history[i + 1 :] if e["action"] in ("rollout", "promote", "rollback")]
            assert after and after[0]["version"] == event["version"], history
    assert registry.state("credit-risk").candidate is None

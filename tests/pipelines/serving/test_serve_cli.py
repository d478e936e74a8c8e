"""`mlops serve` as a process, and `mlops pipeline monitor --local` on what it served."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.cli import app
from pipelines.registry import LocalRegistry
from pipelines.serving.probe import get_json, infer_body, post_json
from tests.pipelines.serving.conftest import SAMPLE

REPO = Path(__file__).resolve().parents[3]


def _deployed(root: Path, model_dir: Path, profile: Path | None = None) -> LocalRegistry:
    registry = LocalRegistry(root / "registry")
    extra = {"reference_profile.json": profile} if profile else None
    registry.register("credit-risk", model_dir, extra_files=extra)
    registry.start_rollout("credit-risk", "v1", "canary", 10)
    registry.promote("credit-risk", "v1")
    return registry


@pytest.mark.slow
def test_serve_starts_answers_and_stops_on_sigint(tmp_path, model_dirs):
    _deployed(tmp_path, model_dirs["a"])
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "serve", "--root", str(tmp_path), "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        first = proc.stdout.readline()
        url = re.search(r"serving (http://\S+)/v2", first).group(1)
        assert "credit-risk: v1 100%" in proc.stdout.readline()
        assert get_json(f"{url}/v2/health/ready") == (200, {"ready": True})
        status, out = post_json(f"{url}/v2/models/credit-risk/infer", infer_body(SAMPLE, "cli-1"))
        assert status == 200 and out["model_version"] == "v1"
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=10)[0]
    assert proc.returncode == 0 and "stopped" in output and "Traceback" not in output
    assert (tmp_path / "serving" / "requests.jsonl").read_text().count("cli-1") == 1


def test_monitor_local_reports_drift_on_served_requests_and_exits_3(tmp_path, model_dirs):
    import json

    import numpy as np
    import pandas as pd

    from pipelines.ml.profile import build_profile
    from pipelines.serving.server import ServingApp

    rng = np.random.default_rng(0)
    base = pd.DataFrame([SAMPLE] * 400).assign(
        annual_income=rng.lognormal(11.5, 0.4, 400), credit_utilization=rng.beta(2, 5, 400)
    )
    (tmp_path / "profile.json").write_text(json.dumps(build_profile(base)))
    registry = _deployed(tmp_path, model_dirs["a"], tmp_path / "profile.json")
    app_ = ServingApp(registry, tmp_path / "serving" / "requests.jsonl")
    for i, row in enumerate(base.assign(annual_income=base.annual_income * 5).to_dict("records")):
        assert app_.infer("credit-risk", infer_body(row, f"r{i}"))[0] == 200
    runner = CliRunner()
    result = runner.invoke(app, ["pipeline", "monitor", "--local", "--root", str(tmp_path)])
    assert result.exit_code == 3, result.output
    assert "credit-risk v1: retrain (400 rows" in result.output and "annual_income: PSI" in result.output
    assert "run again with --retrain" in result.output
    quiet = runner.invoke(app, ["pipeline", "monitor", "--local", "--root", str(tmp_path), "--max-drift", "100"])
    assert quiet.exit_code == 0 and "credit-risk v1: ok" in quiet.output
    assert runner.invoke(app, ["pipeline", "monitor"]).exit_code == 2
    none = runner.invoke(app, ["pipeline", "monitor", "--local", "--root", str(tmp_path / "empty")])
    assert none.exit_code == 2 and "no model named" in none.output


@pytest.mark.slow
def test_predict_sends_real_requests_for_known_applicants(small_store, tmp_path, model_dirs):
    import shutil

    shutil.copytree(small_store.root, tmp_path / "feature_repo")
    from pipelines.features.store import LocalFeatureStore

    LocalFeatureStore(tmp_path / "feature_repo").apply()  # registry paths point into the copy
    LocalFeatureStore(tmp_path / "feature_repo").materialize()
    _deployed(tmp_path, model_dirs["a"])
    result = CliRunner().invoke(app, ["predict", "--root", str(tmp_path), "--sample", "3"])
    assert result.exit_code == 0, result.output
    # the server thread's log lines (stderr) may share a line with an answer: find the answers, not whole lines
    answers = re.findall(r"applicant \d+: default probability 0\.\d+ \(model credit-risk v1,", result.output)
    assert len(answers) == 3, result.output
    unknown = CliRunner().invoke(app, ["predict", "999999999", "--root", str(tmp_path)])
    assert "HTTP 400: no online features for applicant_id [999999999]" in unknown.output

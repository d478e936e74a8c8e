"""Monitoring: PSI/KS drift against the reference profile, label degradation, the retrain decision and its triggers."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from pipelines.serving.monitor import (
    DEFAULT_POLICY,
    INSUFFICIENT,
    OK,
    RETRAIN,
    MonitorPolicy,
    check,
    check_deployed,
    ks_distances,
    served_inputs,
)


def _applications(n: int, seed: int, income_scale: float = 1.0, renters: float = 0.4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "annual_income": rng.lognormal(11.5, 0.5, n) * income_scale,
            "credit_utilization": rng.beta(2, 5, n),
            "home_ownership": rng.choice(["rent", "mortgage", "own"], n, p=[renters, 0.4, 0.6 - renters]),
            "defaulted_12m": rng.integers(0, 2, n),
        }
    )


@pytest.fixture
def reference():
    from pipelines.ml.profile import build_profile

    return build_profile(_applications(5000, 1))


@pytest.mark.parametrize("method", ["psi", "ks"])
def test_same_population_is_ok_and_a_shift_triggers_retraining(reference, method):
    policy = MonitorPolicy(method=method, max_drift=0.25 if method == "psi" else 0.15)
    same = check(reference, _applications(2000, 2), policy, "test")
    assert same.decision == OK and not same.drifted, same.drift
    shifted = check(reference, _applications(2000, 3, income_scale=3.0, renters=0.05), policy, "test")
    assert shifted.decision == RETRAIN
    assert "annual_income" in shifted.drifted and "credit_utilization" not in shifted.drifted
    assert any(r.startswith(f"annual_income: {method.upper()}") for r in shifted.reasons)


def test_ks_distance_on_the_profile_grid(reference):
    assert ks_distances(reference, _applications(3000, 4))["annual_income"] < 0.05
    everyone_rents = _applications(100, 5, renters=0.6).assign(home_ownership="rent")
    assert ks_distances(reference, everyone_rents)["home_ownership"] == pytest.approx(0.6, abs=0.03)


def test_too_few_rows_decide_nothing(reference):
    report = check(reference, _applications(50, 6), MonitorPolicy(min_rows=200), "test")
    assert report.decision == INSUFFICIENT and "50 rows" in report.reasons[0]


def test_policy_inputs_are_checked():
    with pytest.raises(ValueError, match="method"):
        MonitorPolicy(method="chi2")
    with pytest.raises(ValueError, match="max_drift"):
        MonitorPolicy(max_drift=0)


def test_served_requests_are_read_from_the_log_per_model_and_version(tmp_path):
    log = tmp_path / "requests.jsonl"
    entries = [
        {"ts": 10, "model": "m", "version": "v1", "status": 200, "inputs": {"annual_income": [1.0, 2.0]}},
        {"ts": 11, "model": "m", "version": "v2", "status": 200, "inputs": {"annual_income": [3.0]}},
        {"ts": 12, "model": "m", "version": "v1", "status": 400, "inputs": {"annual_income": [4.0]}},
        {"ts": 5, "model": "m", "version": "v1", "status": 200, "inputs": {"annual_income": [5.0]}},
    ]
    log.write_text("".join(json.dumps(e) + "\n" for e in entries) + '{"cut short')
    assert served_inputs(log, "m", "v1", since=6)["annual_income"].tolist() == [1.0, 2.0]
    assert len(served_inputs(log, "m")) == 4
    assert served_inputs(tmp_path / "none.jsonl", "m").empty


def test_the_deployed_version_is_checked_on_its_served_requests(tmp_path, reference):
    from pipelines.registry import LocalRegistry

    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.pt").write_text("w")
    (tmp_path / "profile.json").write_text(json.dumps(reference))
    registry = LocalRegistry(tmp_path / "registry")
    with pytest.raises(Exception, match="no model named"):
        check_deployed(registry, "m", MonitorPolicy())
    registry.register("m", tmp_path / "model", extra_files={"reference_profile.json": tmp_path / "profile.json"})
    registry.start_rollout("m", "v1", "canary", 10)
    registry.promote("m", "v1")
    served = _applications(400, 7, income_scale=4.0)
    log = tmp_path / "requests.jsonl"
    log.write_text(
        json.dumps(
            {
                "ts": 1,
                "model": "m",
                "version": "v1",
                "status": 200,
                "inputs": served.drop(columns="defaulted_12m").to_dict("list"),
            }
        )
        + "\n"
    )
    version, report = check_deployed(registry, "m", MonitorPolicy(), request_log=log)
    assert version == "v1" and report.decision == RETRAIN and report.rows == 400 and report.auc is None
    assert "annual_income" in report.drifted


@pytest.mark.slow
def test_label_degradation_on_a_feast_window(training_data, trained_model, small_store):
    from pipelines.serving.monitor import window_frame

    with open(training_data["profile"]) as fh:
        reference = json.load(fh)
    frame = window_frame(small_store.root, "2025-01-01", "2026-01-01")
    fine = check(reference, frame, MonitorPolicy(max_drift=10), "window", trained_model, baseline_auc=0.0)
    assert fine.auc is not None and 0.5 < fine.auc <= 1.0 and fine.decision == OK
    worse = check(
        reference,
        frame,
        MonitorPolicy(max_drift=10, max_auc_drop=0.01),
        "window",
        trained_model,
        baseline_auc=fine.auc + 0.05,
    )
    assert worse.decision == RETRAIN and "below the" in worse.reasons[0]


def _promote(store: str, model_dir: str, profile: str, version: str, lineage: dict) -> str:
    """What the deploy step does on a cluster: publish, store lineage and profile, record the promotion."""
    from pipelines.registry import artifact_sha256
    from pipelines.retrain import record_stable, store_for_monitoring
    from pipelines.serving.model_store import publish

    sha = artifact_sha256(model_dir)
    publish(model_dir, store, "credit-risk", version, sha)
    store_for_monitoring(store, "credit-risk", version, lineage, profile)
    record_stable(store, "credit-risk", {"version": version, "outcome": "promoted"}, sha, f"run-of-{version}")
    return sha


@pytest.mark.slow
def test_monitor_component_retrains_the_stable_model_with_the_window_rolled_forward(
    training_data, trained_model, small_store, local_runner, monkeypatch, tmp_path
):
    from kfp import dsl

    from pipelines.components.monitor import monitor_model
    from pipelines.retrain import seed_for
    from tests.pipelines.test_alerts import Webhook
    from tests.pipelines.test_submit import TOKEN, KfpApi, _serve

    api = KfpApi()
    server, _ = _serve(api)
    pid = "p-1"
    api.pipelines[pid] = {"pipeline_id": pid, "display_name": "train-validate-deploy"}
    api.versions[pid] = [
        {
            "pipeline_id": pid,
            "pipeline_version_id": "pv-1",
            "display_name": "v1",
            "description": "git_commit=0123456789abcdef",
        }
    ]
    monkeypatch.setenv("MLOPS_KFP_TOKEN", TOKEN)
    hook = Webhook()
    store = f"file://{tmp_path / 'models'}"
    lineage = {
        "time_range": ["2024-07-01", "2026-01-01"],
        "metrics": {"auc": 0.99},
        "parameters": {"reference_window": ["2024-01-01", "2024-07-01"]},
    }
    _promote(store, trained_model, training_data["profile"], "run-first", lineage)

    @dsl.pipeline
    def monitor_once(store: str, repo: str, host: str, webhook: str) -> str:
        return monitor_model(
            model_store_uri=store,
            feature_repo=repo,
            window_end="2026-01-01T00:00:00Z",
            window_days=365,
            method=DEFAULT_POLICY.method,
            max_drift=DEFAULT_POLICY.max_drift,
            max_auc_drop=DEFAULT_POLICY.max_auc_drop,
            min_rows=DEFAULT_POLICY.min_rows,
            kfp_host=host,
            serving_url="http://credit-risk.ml-serving",
            alert_webhook_url=webhook,
            alert_format="alertmanager",
        ).outputs["Output"]

    args = {
        "store": store,
        "repo": str(small_store.root),
        "host": f"http://127.0.0.1:{server.server_address[1]}",
        "webhook": hook.url,
    }
    try:
        decision = monitor_once(**args).output
        retrained = shutil.copytree(trained_model, tmp_path / "retrained")
        (retrained / "note.txt").write_text("another version: other bytes, other sha256")
        _promote(
            store,
            str(retrained),
            training_data["profile"],
            "run-second",
            {**lineage, "time_range": ["2025-01-01", "2026-01-01"], "metrics": {"auc": 0.98}},
        )
        monitor_once(**args)
    finally:
        server.shutdown()
        server.server_close()
        hook.close()
    assert decision == RETRAIN
    assert [r["pipeline_version_reference"]["pipeline_version_id"] for r in api.runs] == ["pv-1", "pv-1"]
    first, second = (r["runtime_config"]["parameters"] for r in api.runs)
    assert first == {
        "train_start": "2024-07-01",
        "train_end": "2026-01-01",
        "reference_start": "2024-01-01",
        "reference_end": "2024-07-01",
        "seed": seed_for("credit-risk", "2024-07-01", "2026-01-01"),
        "model_name": "credit-risk",
        "model_store_uri": store,
        "feature_repo": str(small_store.root),
        "serving_url": "http://credit-risk.ml-serving",
        "git_commit": "0123456789abcdef",
    }
    assert second["train_start"] == "2025-01-01", "the second check watched the newly promoted model's lineage"
    assert api.runs[0]["display_name"].startswith("retrain credit-risk 2024-07-01..2026-01-01: ")
    reports = sorted(local_runner.glob("monitor-once-*/monitor-model/report"))
    text = reports[0].read_text()
    assert text.startswith("# Model monitor: RETRAIN") and "started run" in text
    assert "below the 0.9900 measured at training" in text, "the AUC check is on, with the lineage's baseline"
    assert "monitored credit-risk run-first" in text and "monitored credit-risk run-second" in reports[1].read_text()
    assert "alert: delivered to alertmanager" in text
    events = [a["json"][0]["labels"] for a in hook.received]
    assert [e["event"] for e in events] == ["retrain_started", "retrain_started"]


def test_every_entry_point_defaults_to_the_one_policy():
    import inspect

    from infra.cli.ops import monitor_command
    from pipelines.components.monitor import monitor_model
    from pipelines.monitor_pipeline import monitor_credit_risk

    cli = inspect.signature(monitor_command).parameters
    for name in ("method", "max_drift", "max_auc_drop", "min_rows"):
        expected = getattr(DEFAULT_POLICY, name)
        assert cli[name].default == expected, f"mlops pipeline monitor --{name.replace('_', '-')}"
        assert monitor_credit_risk.component_spec.inputs[name].default == expected, f"monitor pipeline {name}"
        assert monitor_model.component_spec.inputs[name].default is None, f"the step's {name} comes from the pipeline"
    assert DEFAULT_POLICY == MonitorPolicy()

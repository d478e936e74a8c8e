"""A rejected release fails the run (after its alert), with the gate's reasons; the gate's report is written first."""

import json
import re

import pytest

from tests.pipelines.test_alerts import Webhook

FAILING = {
    "auc": 0.55,
    "ece": 0.01,
    "demographic_parity_difference": 0.0,
    "equalized_odds_difference": 0.0,
    "robustness_drop": 0.0,
}


def test_release_rejected_alerts_then_raises_with_every_reason(tmp_path):
    from pipelines.steps.gate import gate
    from pipelines.steps.reject import ReleaseRejected, release_rejected

    result = gate(FAILING, str(tmp_path / "gate.md"), 0.7, 0.05, 0.05)
    hook, logs = Webhook(), []
    try:
        with pytest.raises(ReleaseRejected, match=r"release gate rejected credit-risk: auc = 0.55 fails >= 0.7") as err:
            release_rejected(
                str(tmp_path / "gate.md"), {}, "credit-risk", hook.url, "alertmanager", run_id="r-9", log=logs.append
            )
    finally:
        hook.close()
    assert "alert: delivered to alertmanager" in str(err.value)
    (alert,) = hook.received[0]["json"]
    assert alert["labels"]["alertname"] == "MLOpsGateRejected" and alert["labels"]["severity"] == "error"
    assert json.loads(alert["annotations"]["description"])["reasons"] == result["reasons"]
    with pytest.raises(ReleaseRejected, match="alert: alerts off"):
        release_rejected(str(tmp_path / "gate.md"), {}, "credit-risk")


def test_a_rejecting_gate_fails_the_local_run_naming_the_reject_step(local_runner, tmp_path):
    from kfp import dsl

    from pipelines.components.gate import release_gate
    from pipelines.components.reject import release_rejected
    from pipelines.steps.gate import REJECT
    from pipelines.train_validate_deploy import FAIRNESS_FLOORS

    FLOORS = {
        f"{bound}_{metric}_{kind}": FAIRNESS_FLOORS[metric][f"{bound}_{kind}"]
        for metric in ("demographic_parity", "equalized_odds")
        for bound, kind in (("max", "difference"), ("min", "ratio"))
    }
    (tmp_path / "evaluation.json").write_text(json.dumps(FAILING))

    @dsl.pipeline
    def gate_only(evaluation_uri: str, webhook: str):
        evaluation = dsl.importer(artifact_uri=evaluation_uri, artifact_class=dsl.Artifact)
        gate = release_gate(evaluation=evaluation.output, **FLOORS)
        with dsl.If(gate.outputs["Output"] == REJECT):
            release_rejected(gate_report=gate.outputs["report"], alert_webhook_url=webhook, alert_format="alertmanager")

    hook = Webhook()
    try:
        with pytest.raises(RuntimeError) as err:
            gate_only(evaluation_uri=str(tmp_path / "evaluation.json"), webhook=hook.url)
    finally:
        hook.close()
    message = re.sub(r"\x1b\[[0-9;]*m", "", str(err.value))
    assert "FAILURE" in message and "release-rejected" in message, message
    report = next(local_runner.glob("gate-only-*/release-gate/report")).read_text()
    assert report.startswith("# Release gate: REJECT") and "auc = 0.55 fails >= 0.7" in report
    assert [a["json"][0]["labels"]["event"] for a in hook.received] == ["gate_rejected"]

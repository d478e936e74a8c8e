"""Gate step: thresholds decide deploy vs reject, and every failed threshold is recorded (the fairness policy:
test_fairness_policy.py)."""

import json

import pytest

from pipelines.steps.gate import DEPLOY, REJECT, gate
from tests.pipelines.test_fairness_policy import fair_evaluation

GOOD = {**fair_evaluation(), "auc": 0.8, "ece": 0.02, "robustness_drop": 0.01}
LIMITS = {"min_auc": 0.7, "max_ece": 0.05, "max_robustness_drop": 0.05}
FLOORS = {
    "max_demographic_parity_difference": 0.15,
    "min_demographic_parity_ratio": 0.8,
    "max_equalized_odds_difference": 0.3,
    "min_equalized_odds_ratio": 0.6,
}


def test_a_model_within_every_threshold_is_deployed(tmp_path):
    result = gate(GOOD, str(tmp_path / "g.md"), **LIMITS)
    assert result == {**result, "decision": DEPLOY, "reasons": []}
    assert (tmp_path / "g.md").read_text().startswith("# Release gate: DEPLOY")


def test_each_failed_threshold_rejects_and_is_named(tmp_path):
    bad = {**GOOD, "auc": 0.65, "ece": float("nan")}
    gender = GOOD["fairness"]["gender"]["groups"]
    bad["fairness"] = {
        **bad["fairness"],
        "gender": {"groups": {**gender, "male": {**gender["male"], "approved_repaid": 400}}},
    }
    result = gate(bad, str(tmp_path / "g.md"), **LIMITS)
    assert result["decision"] == REJECT
    assert [r.split(" ")[0] for r in result["reasons"]][:3] == ["auc", "ece", "gender/demographic_parity/difference"]
    assert "Not deployed because" in (tmp_path / "g.md").read_text()


def test_a_missing_metric_fails_closed(tmp_path):
    result = gate({k: v for k, v in GOOD.items() if k != "auc"}, str(tmp_path / "g.md"), **LIMITS)
    assert result["decision"] == REJECT and result["reasons"] == ["auc = None fails >= 0.7"]


def test_a_non_numeric_metric_rejects_with_a_reason_instead_of_crashing(tmp_path):
    # round() of a string raised TypeError, failing the step instead of rejecting with a reason
    result = gate({**GOOD, "auc": "0.9"}, str(tmp_path / "g.md"), **LIMITS)
    assert result["decision"] == REJECT and result["reasons"] == ["auc = '0.9' fails >= 0.7"]


def test_gate_component_returns_the_decision_locally(local_runner, tmp_path):
    from kfp import dsl

    from pipelines.components.gate import release_gate

    (tmp_path / "evaluation.json").write_text(json.dumps(GOOD))

    @dsl.pipeline
    def decide(evaluation_uri: str, min_auc: float, max_dpd: float) -> str:
        evaluation = dsl.importer(artifact_uri=evaluation_uri, artifact_class=dsl.Artifact)
        return release_gate(
            evaluation=evaluation.output, min_auc=min_auc, **{**FLOORS, "max_demographic_parity_difference": max_dpd}
        ).outputs["Output"]

    uri = str(tmp_path / "evaluation.json")
    assert decide(evaluation_uri=uri, min_auc=0.7, max_dpd=0.15).output == DEPLOY
    assert decide(evaluation_uri=uri, min_auc=0.9, max_dpd=0.15).output == REJECT
    with pytest.raises(RuntimeError, match="release-gate"):  # a looser floor than the org's fails the step
        decide(evaluation_uri=uri, min_auc=0.7, max_dpd=0.2)

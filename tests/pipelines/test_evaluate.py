"""Evaluate step: metrics checked against hand-computed values, then on a trained model and in a local run."""

import json

import numpy as np
import pytest

from pipelines.ml import metrics as m


def test_auc_matches_the_pairwise_definition_including_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.random(300), 1)  # many ties
    pos, neg = s[y == 1], s[y == 0]
    pairwise = ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (
        len(pos) * len(neg)
    )
    assert m.roc_auc(y, s) == pytest.approx(pairwise)
    assert m.roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])) == 1.0


def test_calibration_on_a_known_case():
    y = np.array([0, 0, 1, 1])
    assert m.expected_calibration_error(y, np.array([0.05, 0.05, 0.95, 0.95])) == pytest.approx(0.05)


def test_fairness_metrics_agree_with_fairlearn_on_approval_as_the_favourable_outcome():
    from fairlearn import metrics as fm

    from pipelines.ml import fairness as f

    rng = np.random.default_rng(3)
    group = rng.choice(["a", "b", "c"], 3_000, p=[0.5, 0.3, 0.2])
    defaulted = (rng.random(3_000) < np.where(group == "a", 0.15, 0.3)).astype(float)
    declined = (rng.random(3_000) < 0.1 + 0.4 * defaulted + 0.1 * (group == "c")).astype(float)
    ours = f.point_metrics(f.outcome_counts(defaulted, declined, group))
    repaid, approved = 1 - defaulted, 1 - declined
    kw = {"sensitive_features": group}
    assert ours["demographic_parity_difference"] == pytest.approx(
        fm.demographic_parity_difference(repaid, approved, **kw)
    )
    assert ours["demographic_parity_ratio"] == pytest.approx(fm.demographic_parity_ratio(repaid, approved, **kw))
    assert ours["equalized_odds_difference"] == pytest.approx(fm.equalized_odds_difference(repaid, approved, **kw))
    assert ours["equalized_odds_ratio"] == pytest.approx(fm.equalized_odds_ratio(repaid, approved, **kw))


def test_group_thresholds_decide_per_group_and_refuse_an_unknown_group(tmp_path):
    from pipelines.ml import fairness as f

    rule = f.DecisionThresholds(
        ("age_band", "gender"), {"age_band=18-25|gender=female": 0.3, "age_band=18-25|gender=male": 0.6}
    )
    columns = {"age_band": np.array(["18-25", "18-25"]), "gender": np.array(["female", "male"])}
    assert rule.decide(np.array([0.4, 0.4]), columns).tolist() == [1.0, 0.0]
    (tmp_path / f.THRESHOLDS_FILE).write_text(rule.to_json())
    assert f.load_thresholds(tmp_path) == rule
    assert f.load_thresholds(tmp_path / "none").decide(np.array([0.5, 0.49]), {}).tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="no decision threshold for group"):
        rule.decide(np.array([0.4]), {"age_band": np.array(["65+"]), "gender": np.array(["male"])})
    with pytest.raises(ValueError, match="needs the sensitive attribute"):
        rule.decide(np.array([0.4]), {"age_band": np.array(["18-25"])})


def test_permutation_importance_ranks_the_signal_first():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2_000, 3)).astype("float32")
    y = (x[:, 0] + 0.1 * rng.normal(size=2_000) > 0).astype(float)
    importance = m.permutation_importance(lambda a: a[:, 0], x, y, {"signal": [0], "noise1": [1], "noise2": [2]})
    assert next(iter(importance)) == "signal" and importance["signal"] > 0.3 and abs(importance["noise1"]) < 1e-9


def test_evaluate_writes_every_metric_and_a_readable_report(training_data, trained_model, tmp_path):
    from pipelines.steps.evaluate import SCALARS, evaluate_model

    result = evaluate_model(training_data["dataset"], trained_model, str(tmp_path / "r.md"), str(tmp_path / "e.json"))
    assert set(SCALARS) <= set(result) and 0.6 < result["auc"] <= 1 and 0 <= result["ece"] < 0.2
    assert set(result["fairness"]) == {"age_band", "gender"}, "every declared sensitive attribute is evaluated"
    assert set(result["fairness"]["age_band"]["groups"]) <= {"18-25", "26-35", "36-50", "51-65", "65+"}
    assert set(result["fairness"]["gender"]["groups"]) == {"female", "male"}
    worst = max(a["demographic_parity_difference"] for a in result["fairness"].values())
    assert result["demographic_parity_difference"] == worst and result["decision_rule"]["attributes"] == []
    assert "annual_income" in result["permutation_importance"]
    assert not {"age_band", "gender"} & set(result["permutation_importance"])
    assert json.loads((tmp_path / "e.json").read_text())["auc"] == result["auc"]
    report = (tmp_path / "r.md").read_text()
    assert "demographic_parity_difference" in report and "Permutation importance" in report
    assert "Fairness across `gender`" in report


def test_evaluate_component_logs_kfp_metrics_locally(training_data, trained_model, local_runner):
    from kfp import dsl

    from pipelines.components.evaluate import evaluate_model

    @dsl.pipeline
    def evaluate(dataset_uri: str, model_uri: str):
        data = dsl.importer(artifact_uri=dataset_uri, artifact_class=dsl.Dataset)
        model = dsl.importer(artifact_uri=model_uri, artifact_class=dsl.Model)
        evaluate_model(dataset=data.output, model=model.output)

    evaluate(dataset_uri=training_data["dataset"], model_uri=trained_model)
    run = next(local_runner.glob("evaluate-*/evaluate-model"))
    executor_output = json.loads((run / "executor_output.json").read_text())
    logged = executor_output["artifacts"]["metrics"]["artifacts"][0]["metadata"]
    assert {"auc", "ece", "demographic_parity_difference", "equalized_odds_difference", "robust_auc"} <= set(logged)
    assert (run / "report").read_text().startswith("# Model evaluation")

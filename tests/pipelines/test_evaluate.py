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
    pairwise = ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (len(pos) * len(neg))
    assert m.roc_auc(y, s) == pytest.approx(pairwise)
    assert m.roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])) == 1.0


def test_calibration_and_fairness_metrics_on_known_cases():
    y = np.array([0, 0, 1, 1])
    assert m.expected_calibration_error(y, np.array([0.05, 0.05, 0.95, 0.95])) == pytest.approx(0.05)
    group = np.array(["a", "a", "b", "b", "a", "b"])
    pred = np.array([1, 0, 1, 1, 0, 1], dtype=float)
    assert m.demographic_parity_difference(pred, group) == pytest.approx(1 - 1 / 3)
    y6 = np.array([1, 0, 1, 0, 1, 0])
    # TPR: a 1/2, b 1/1 -> 0.5; FPR: a 0/1, b 2/2 -> 1.0
    assert m.equalized_odds_difference(y6, pred, group) == pytest.approx(1.0)


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
    assert set(result["groups"]) <= {"18-25", "26-35", "36-50", "51-65", "65+"}
    assert "annual_income" in result["permutation_importance"] and "age_band" not in result["permutation_importance"]
    assert json.loads((tmp_path / "e.json").read_text())["auc"] == result["auc"]
    report = (tmp_path / "r.md").read_text()
    assert "demographic_parity_difference" in report and "Permutation importance" in report


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

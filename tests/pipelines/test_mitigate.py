"""Mitigation step: deterministic per-group thresholds fitted on the validation split, inside the model directory."""

import json

import numpy as np
import pandas as pd
import pytest


def test_matching_threshold_declines_the_requested_share():
    from pipelines.steps.mitigate import _matching_threshold

    scores = np.array([0.9, 0.1, 0.5, 0.3, 0.7])
    assert (scores >= _matching_threshold(scores, 0.4)).sum() == 2
    assert (scores >= _matching_threshold(scores, 0.0)).sum() == 0
    assert (scores >= _matching_threshold(scores, 1.0)).sum() == 5


def test_groups_fairlearn_cannot_fit_are_named_and_keep_the_plain_rule():
    from pipelines.steps.mitigate import _unfittable_groups

    groups = np.array(["gender=female"] * 4 + ["gender=male"] * 3, dtype=object)
    y = np.array([0, 1, 0, 1, 0, 0, 0])
    assert _unfittable_groups(groups, y, ("gender",)) == {"gender=male": "only one outcome in 3 validation rows"}
    assert _unfittable_groups(groups[:4], y[:4], ("gender",)) == {"gender=male": "absent from the validation split"}


def test_mitigate_writes_deterministic_group_thresholds_fitted_on_validation_only(
    training_data, trained_model, tmp_path
):
    from pipelines.features.schema import SENSITIVE_ATTRIBUTES
    from pipelines.ml.data import split_of
    from pipelines.ml.fairness import THRESHOLDS_FILE, load_thresholds
    from pipelines.registry import artifact_sha256
    from pipelines.steps.mitigate import mitigate

    first = mitigate(training_data["dataset"], trained_model, str(tmp_path / "a"))
    mitigate(training_data["dataset"], trained_model, str(tmp_path / "b"))
    frame = pd.read_parquet(training_data["dataset"])
    val = int((split_of(frame) == "val").sum())
    unfitted = sum(g["rows"] for g in first["groups"].values()) - first["fit_rows"]
    assert first["fit_split"] == "val" and first["fit_rows"] + unfitted <= val and unfitted == 0
    assert (tmp_path / "a" / THRESHOLDS_FILE).read_text() == (tmp_path / "b" / THRESHOLDS_FILE).read_text()
    assert artifact_sha256(tmp_path / "a") != artifact_sha256(trained_model), "thresholds are part of the version"
    rule = load_thresholds(tmp_path / "a")
    assert rule.attributes == SENSITIVE_ATTRIBUTES and len(rule.thresholds) == 10, "every allowed group"
    assert set(rule.thresholds) == {*first["groups"], *first["unmitigated_groups"]}
    rates = [g["decline_rate"] for g in first["groups"].values()]
    randomised = [g["randomised_decline_rate"] for g in first["groups"].values()]
    sizes = [g["rows"] for g in first["groups"].values()]
    assert all(abs(r - e) <= 1 / n + 1e-9 for r, e, n in zip(rates, randomised, sizes)), "deterministic = expected"
    assert max(randomised) - min(randomised) < 0.02, "demographic parity on the validation split"
    assert (tmp_path / "a" / "model.pt").exists() and json.loads((tmp_path / "a" / "mitigation.json").read_text())
    with pytest.raises(ValueError, match="constraint must be one of"):
        mitigate(training_data["dataset"], trained_model, str(tmp_path / "c"), constraint="parity")


def test_mitigate_component_runs_locally(training_data, trained_model, local_runner):
    from kfp import dsl

    from pipelines.components.mitigate import mitigate_model

    @dsl.pipeline
    def only_mitigate(dataset_uri: str, model_uri: str):
        data = dsl.importer(artifact_uri=dataset_uri, artifact_class=dsl.Dataset)
        model = dsl.importer(artifact_uri=model_uri, artifact_class=dsl.Model)
        mitigate_model(dataset=data.output, model=model.output)

    only_mitigate(dataset_uri=training_data["dataset"], model_uri=trained_model)
    out = next(local_runner.glob("only-mitigate-*/mitigate-model/mitigated_model"))
    assert (out / "decision_thresholds.json").exists() and (out / "model.pt").exists()


def test_compiled_pipeline_mitigates_before_evaluating_and_defaults_to_the_org_floors():
    import yaml

    from pipelines.compile import COMPILED
    from pipelines.steps.fairness_policy import load_policy

    spec = next(yaml.safe_load_all(COMPILED.read_text()))
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["mitigate-model"]["dependentTasks"] == ["load-training-data", "train-model"]
    assert (
        tasks["evaluate-model"]["inputs"]["artifacts"]["model"]["taskOutputArtifact"]["producerTask"]
        == "mitigate-model"
    )
    params = spec["root"]["inputDefinitions"]["parameters"]
    floors = load_policy().floors
    assert params["max_demographic_parity_difference"]["defaultValue"] == floors["demographic_parity"]["max_difference"]
    assert params["min_equalized_odds_ratio"]["defaultValue"] == floors["equalized_odds"]["min_ratio"]
    gate_script = "\n".join(spec["deploymentSpec"]["executors"]["exec-release-gate"]["container"]["command"])
    assert "'PyYAML==6.0.4'" in gate_script and "'numpy==" in gate_script
    mitigate_script = "\n".join(spec["deploymentSpec"]["executors"]["exec-mitigate-model"]["container"]["command"])
    assert "'fairlearn==0.15.0'" in mitigate_script


def test_the_policy_files_travel_inside_the_components():
    from pathlib import Path

    from pipelines.components._runtime import EMBEDDED_POLICY_FILES, embedded_code
    from pipelines.steps.fairness_policy import POLICY_FILE, ROOT

    stage = Path(embedded_code())
    for name in EMBEDDED_POLICY_FILES:
        assert (stage / name).read_bytes() == (ROOT / name).read_bytes()
    assert (stage / "pipelines" / "steps" / "fairness_policy.py").exists() and POLICY_FILE.is_relative_to(ROOT)


@pytest.mark.slow
def test_the_default_local_run_deploys_the_mitigated_model_and_rejects_the_unmitigated_one(tmp_path):
    """`make local` settings: the org policy rejects the plain 0.5 rule and passes the mitigated thresholds."""
    from pipelines.local_run import run_local
    from pipelines.steps.evaluate import evaluate_model
    from pipelines.steps.gate import REJECT, gate

    result = run_local(root=tmp_path, rows=20_000, max_epochs=6, echo=lambda _: None)
    assert result.decision == "deploy", (result.reports["gate"]).read_text()
    run = result.run_dir
    before = evaluate_model(
        str(run / "load-training-data" / "dataset"),
        str(run / "train-model" / "model"),
        str(tmp_path / "before.md"),
        str(tmp_path / "before.json"),
    )
    verdict = gate(before, str(tmp_path / "gate.md"), 0.7, 0.05, 0.05)
    assert verdict["decision"] == REJECT
    assert any(r.startswith("age_band/demographic_parity/difference") for r in verdict["reasons"])
    after = json.loads((run / "evaluate-model" / "evaluation").read_text())
    assert after["auc"] == pytest.approx(before["auc"])
    assert after["decision_rule"]["attributes"] == ["age_band", "gender"]
    assert after["demographic_parity_difference"] < before["demographic_parity_difference"]

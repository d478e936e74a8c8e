"""The deploy component: lineage collected from the upstream outputs, then a local canary rollout in a KFP local run."""

import json

import pytest


def test_gate_summary_reads_the_decision_and_thresholds_from_the_report(tmp_path):
    from pipelines.serving.deploy import gate_summary
    from pipelines.steps.gate import gate
    from tests.pipelines.test_fairness_policy import fair_evaluation

    gate(
        {**fair_evaluation(), "auc": 0.8, "ece": 0.01, "robustness_drop": 0.0},
        str(tmp_path / "gate.md"),
        0.7,
        0.05,
        0.05,
    )
    summary = gate_summary(str(tmp_path / "gate.md"), {})
    assert summary["decision"] == "deploy" and summary["reasons"] == []
    assert summary["thresholds"]["auc"] == ">= 0.7"


def test_lineage_refuses_a_dataset_that_changed_since_loading(tmp_path):
    import pandas as pd

    from pipelines.serving.deploy import collect_lineage

    pd.DataFrame({"applicant_id": [1, 2], "x": [0.1, 0.2]}).to_parquet(tmp_path / "d.parquet")
    with pytest.raises(ValueError, match="load step reported"):
        collect_lineage(
            model_name="m",
            version="v1",
            dataset_path=str(tmp_path / "d.parquet"),
            dataset_meta={"data_hash": "0" * 64},
            model_dir=str(tmp_path),
            model_uri="",
            model_meta={},
            evaluation_path="",
            gate={},
            deploy_params={},
        )


@pytest.mark.slow
def approve_locally(registry_root, model_dir) -> None:
    """What the approve step records when the gate passed (the deploy step refuses unapproved bytes)."""
    from pipelines.registry import artifact_sha256
    from pipelines.serving.approvals import LocalApprovals

    LocalApprovals(registry_root).record("credit-risk", artifact_sha256(model_dir), "")


def test_deploy_component_registers_canaries_and_promotes_in_a_local_run(
    training_data, trained_model, local_runner, tmp_path
):
    from kfp import dsl

    from pipelines.components.deploy import deploy_model
    from pipelines.lineage import REQUIRED
    from pipelines.registry import LocalRegistry
    from pipelines.steps.evaluate import evaluate_model
    from pipelines.steps.gate import gate

    evaluation = evaluate_model(
        training_data["dataset"], trained_model, str(tmp_path / "eval.md"), str(tmp_path / "evaluation.json")
    )
    gate(
        evaluation, str(tmp_path / "gate.md"), 0.0, 1.0, 1.0
    )  # the small fixture cannot pass fairness: not judged here
    data_meta = {k: training_data[k] for k in ("rows_asked", "rows_got", "data_hash", "feature_service", "time_range")}

    @dsl.pipeline
    def deploy_only(
        dataset_uri: str, model_uri: str, profile_uri: str, evaluation_uri: str, gate_uri: str, registry_root: str
    ) -> str:
        dataset = dsl.importer(artifact_uri=dataset_uri, artifact_class=dsl.Dataset, metadata=data_meta)
        model = dsl.importer(artifact_uri=model_uri, artifact_class=dsl.Model, metadata={"hyperparams": {"hidden": 32}})
        profile = dsl.importer(artifact_uri=profile_uri, artifact_class=dsl.Artifact)
        evaluated = dsl.importer(artifact_uri=evaluation_uri, artifact_class=dsl.Artifact)
        report = dsl.importer(artifact_uri=gate_uri, artifact_class=dsl.Markdown)
        return deploy_model(
            model=model.output,
            dataset=dataset.output,
            reference_profile=profile.output,
            evaluation=evaluated.output,
            gate_report=report.output,
            registry_root=registry_root,
            min_requests=10,
            max_p95_latency_ms=5000.0,
            max_latency_ratio=100.0,
            git_commit="abc123",
            run_id="local-run",
        ).outputs["Output"]

    args = {
        "dataset_uri": training_data["dataset"],
        "model_uri": trained_model,
        "profile_uri": training_data["profile"],
        "evaluation_uri": str(tmp_path / "evaluation.json"),
        "gate_uri": str(tmp_path / "gate.md"),
        "registry_root": str(tmp_path / "registry"),
    }
    with pytest.raises(RuntimeError):  # no release approval for these bytes yet: nothing is deployed
        deploy_only(**args)
    assert not (tmp_path / "registry" / "index.json").exists()
    approve_locally(tmp_path / "registry", trained_model)
    assert deploy_only(**args).output == "promoted"
    assert deploy_only(**args).output == "unchanged", "a re-run deploys nothing new"

    registry = LocalRegistry(tmp_path / "registry")
    mv = registry.find("v1")
    assert registry.state("credit-risk").stable == "v1"
    assert all(mv.lineage.get(k) not in (None, "", [], {}) for k in REQUIRED), mv.lineage
    assert mv.lineage["data_hash"] == training_data["data_hash"] and mv.lineage["git_commit"] == "abc123"
    assert mv.lineage["metrics"]["auc"] == pytest.approx(evaluation["auc"])
    assert mv.lineage["parameters"]["canary_traffic_percent"] == 10
    assert [d["outcome"] for d in mv.lineage["deployments"]] == ["promoted", "unchanged"]
    assert mv.lineage["registered_by"]["authenticated"] is False  # a local OS user, said so
    assert {e["action"] for e in mv.lineage["registry_actions"]} >= {"register", "rollout", "promote"}
    assert all(e["actor"]["subject"] for e in mv.lineage["registry_actions"])
    assert registry.file("credit-risk", "v1", "reference_profile.json").exists()
    written = json.loads(next(local_runner.glob("deploy-only-*/deploy-model/lineage")).read_text())
    assert written["sha256"] == mv.sha256


@pytest.mark.slow
def test_a_rolled_back_deployment_sends_the_rollback_alert(training_data, trained_model, local_runner, tmp_path):
    from kfp import dsl

    from pipelines.components.deploy import deploy_model
    from pipelines.steps.evaluate import evaluate_model
    from pipelines.steps.gate import gate
    from tests.pipelines.test_alerts import Webhook

    evaluation = evaluate_model(
        training_data["dataset"], trained_model, str(tmp_path / "eval.md"), str(tmp_path / "evaluation.json")
    )
    gate(evaluation, str(tmp_path / "gate.md"), 0.0, 1.0, 1.0)
    data_meta = {k: training_data[k] for k in ("rows_asked", "rows_got", "data_hash", "feature_service", "time_range")}

    @dsl.pipeline
    def deploy_unhealthy(
        dataset_uri: str,
        model_uri: str,
        profile_uri: str,
        evaluation_uri: str,
        gate_uri: str,
        registry_root: str,
        webhook: str,
    ) -> str:
        dataset = dsl.importer(artifact_uri=dataset_uri, artifact_class=dsl.Dataset, metadata=data_meta)
        model = dsl.importer(artifact_uri=model_uri, artifact_class=dsl.Model, metadata={"hyperparams": {"hidden": 32}})
        profile = dsl.importer(artifact_uri=profile_uri, artifact_class=dsl.Artifact)
        evaluated = dsl.importer(artifact_uri=evaluation_uri, artifact_class=dsl.Artifact)
        report = dsl.importer(artifact_uri=gate_uri, artifact_class=dsl.Markdown)
        return deploy_model(
            model=model.output,
            dataset=dataset.output,
            reference_profile=profile.output,
            evaluation=evaluated.output,
            gate_report=report.output,
            registry_root=registry_root,
            min_requests=10,
            max_p95_latency_ms=0.001,
            git_commit="abc123",
            run_id="local-run",
            alert_webhook_url=webhook,
            alert_format="alertmanager",
        ).outputs["Output"]

    approve_locally(tmp_path / "registry", trained_model)
    hook = Webhook()
    try:
        outcome = deploy_unhealthy(
            dataset_uri=training_data["dataset"],
            model_uri=trained_model,
            profile_uri=training_data["profile"],
            evaluation_uri=str(tmp_path / "evaluation.json"),
            gate_uri=str(tmp_path / "gate.md"),
            registry_root=str(tmp_path / "registry"),
            webhook=hook.url,
        ).output
    finally:
        hook.close()
    assert outcome == "rolled_back"
    (alert,) = hook.received[0]["json"]
    assert alert["labels"]["alertname"] == "MLOpsRolledBack" and alert["labels"]["model"] == "credit-risk"
    assert "p95" in alert["annotations"]["summary"] and len(hook.received) == 1


def test_compiled_pipeline_deploys_only_behind_the_gate_with_a_10_percent_canary():
    import yaml

    from pipelines.compile import COMPILED

    spec = next(yaml.safe_load_all(COMPILED.read_text()))
    tasks = spec["root"]["dag"]["tasks"]
    assert "deploy-model" not in tasks, "deploy must not run outside the gate's condition"
    (condition,) = [
        t
        for name, t in tasks.items()
        if name.startswith("condition-") and t["triggerPolicy"]["condition"].endswith("== 'deploy'")
    ]
    assert condition["triggerPolicy"]["condition"].endswith("['pipelinechannel--release-gate-Output'] == 'deploy'")
    inner = spec["components"][condition["componentRef"]["name"]]["dag"]["tasks"]
    assert sorted(inner) == ["approve-release", "deploy-model"]
    assert "approve-release" in inner["deploy-model"]["dependentTasks"], "deploy only after the gate's approval"
    # each step acts as its own identity: the token Secret of release-gate / pipeline-deployer, mounted there only
    platform = list(yaml.safe_load_all(COMPILED.read_text()))[1]["platforms"]["kubernetes"]["deploymentSpec"]
    mounted = {
        name: [v["secretName"] for v in e.get("secretAsVolume", [])] for name, e in platform["executors"].items()
    }
    assert mounted["exec-approve-release"] == ["release-gate-token"]
    assert mounted["exec-deploy-model"] == ["pipeline-deployer-token"]
    assert not any(s for name, s in mounted.items() if name not in ("exec-approve-release", "exec-deploy-model"))
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert params["require_approval"]["defaultValue"] is False
    assert params["canary_traffic_percent"]["defaultValue"] == 10
    assert params["deploy_strategy"]["defaultValue"] == "canary"
    install = " ".join(spec["deploymentSpec"]["executors"]["exec-deploy-model"]["container"]["command"])
    assert "'kubernetes==30.1.0'" in install

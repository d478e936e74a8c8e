"""Component: deploy the gated model (KServe canary or blue-green on a cluster; the local registry and serving
process otherwise), judge the candidate, promote or roll back, and write the run's lineage record."""

from kfp.dsl import Artifact, Dataset, Input, Markdown, Model, Output

from pipelines.components._runtime import (
    DATA_PACKAGES,
    KUBERNETES,
    MODEL_STORE_PACKAGES,
    SERVING_UNUSED_STEPS,
    component,
)


@component([*DATA_PACKAGES, KUBERNETES, *MODEL_STORE_PACKAGES], without=SERVING_UNUSED_STEPS)
def deploy_model(
    model: Input[Model],
    dataset: Input[Dataset],
    reference_profile: Input[Artifact],
    evaluation: Input[Artifact],
    gate_report: Input[Markdown],
    lineage: Output[Artifact],
    model_name: str = "credit-risk",
    model_version: str = "",
    strategy: str = "canary",
    canary_traffic_percent: int = 10,
    max_error_rate: float = 0.01,
    max_p95_latency_ms: float = 500.0,
    max_latency_ratio: float = 2.0,
    min_requests: int = 20,
    window_seconds: float = 0.0,
    target: str = "auto",
    registry_root: str = "",
    serving_url: str = "",
    feature_repo: str = "",
    namespace: str = "ml-serving",
    serving_runtime: str = "mlops-credit-risk-oip",
    model_store_uri: str = "",
    git_commit: str = "",
    run_id: str = "",
    pipeline_job_id: str = "",
    alert_webhook_url: str = "",
    alert_format: str = "",
    alert_secret_env: str = "MLOPS_ALERT_SECRET",
    require_approval: bool = False,
) -> str:
    """Returns the outcome (``promoted``, ``rolled_back`` or ``unchanged``); ``lineage`` holds the full record.

    ``model_version`` empty: ``v<N>`` in the local registry, ``run-<run id prefix>`` on a cluster.
    ``registry_root`` empty: ``registry`` next to the local ``feature_repo`` (``.local-run/registry``).
    ``model_store_uri``: the stack's models bucket; required on a cluster (the version is copied there first,
    with its lineage and reference profile beside it, and a promotion is recorded there for the monitor).
    ``run_id``: the caller's id for the run (lineage, rollout owner); empty: ``pipeline_job_id`` (KFP's).
    A rollback sends the ``rolled_back`` alert (``alert_*``; empty: no alerts).
    Only a version the release gate approved (``approve_release``; with ``require_approval`` also signed off by an
    approver) is deployed; on a cluster this step acts as the deploy identity (its mounted token), which is the only
    one the API server admits InferenceServices from.
    """
    import json

    from pipelines.alerts import ROLLED_BACK, Alert, notify
    from pipelines.retrain import record_stable, store_for_monitoring
    from pipelines.serving.approvals import DEPLOYER_TOKEN, ClusterApprovals, LocalApprovals, api_client, check_approved
    from pipelines.serving.deploy import (
        collect_lineage,
        default_registry_root,
        deploy,
        gate_summary,
        probe_rows,
        release_version,
        resolve_target,
    )
    from pipelines.serving.rollout import HealthPolicy, check_strategy

    check_strategy(strategy, canary_traffic_percent)
    run_id = run_id or pipeline_job_id
    policy = HealthPolicy(max_error_rate, max_p95_latency_ms, max_latency_ratio, min_requests)
    version = release_version(model_version, resolve_target(target), run_id)
    gate = gate_summary(gate_report.path, dict(gate_report.metadata))
    record = collect_lineage(
        model_name=model_name,
        version=version,
        dataset_path=dataset.path,
        dataset_meta={**dataset.metadata, "reference_window": reference_profile.metadata.get("window")},
        model_dir=model.path,
        model_uri=model.uri,
        model_meta=dict(model.metadata),
        evaluation_path=evaluation.path,
        gate=gate,
        commit=git_commit,
        run_id=run_id,
        deploy_params={
            "strategy": strategy,
            "canary_traffic_percent": canary_traffic_percent,
            "health_policy": vars(policy),
            "window_seconds": window_seconds,
        },
    )
    registry_root = default_registry_root(registry_root, feature_repo)
    on_cluster = resolve_target(target) != "local"
    kserve_api = None
    if on_cluster:
        from kubernetes import client

        deployer = api_client(DEPLOYER_TOKEN)
        kserve_api = client.CustomObjectsApi(deployer)
        approvals = ClusterApprovals(client.CoreV1Api(deployer), namespace).entries()
    else:
        approvals = LocalApprovals(registry_root).entries()
    check_approved(approvals, model_name, record["sha256"], version if on_cluster else None, require_approval)
    if on_cluster and model_store_uri:
        store_for_monitoring(model_store_uri, model_name, version, record, reference_profile.path)
    outcome, record = deploy(
        target=target,
        model_name=model_name,
        version=version,
        lineage=record,
        model_dir=model.path,
        model_uri=model.uri,
        reference_profile=reference_profile.path,
        rows=probe_rows(dataset.path),
        strategy=strategy,
        canary_percent=canary_traffic_percent,
        policy=policy,
        window_seconds=window_seconds,
        registry_root=registry_root,
        serving_url=serving_url,
        feature_repo=feature_repo,
        namespace=namespace,
        serving_runtime=serving_runtime,
        model_store_uri=model_store_uri,
        kserve_api=kserve_api,
        run_id=run_id,
    )
    if on_cluster and model_store_uri and outcome["outcome"] in ("promoted", "unchanged"):
        record_stable(model_store_uri, model_name, outcome, record["sha256"], run_id)
    alert = ""
    if outcome["outcome"] == "rolled_back":
        alert = notify(
            alert_webhook_url,
            alert_format,
            alert_secret_env,
            Alert(
                ROLLED_BACK,
                model_name,
                f"{model_name} {outcome['version']} rolled back"
                + (f" to {outcome['restored']}" if outcome.get("restored") else "")
                + ": "
                + "; ".join(outcome.get("reasons", []))[:200],
                {
                    "run_id": run_id,
                    "version": outcome["version"],
                    "restored": outcome.get("restored"),
                    "reasons": outcome.get("reasons", []),
                    "target": outcome["target"],
                },
            ),
        )
    with open(lineage.path, "w") as fh:
        json.dump(record, fh, indent=2)
    lineage.metadata.update(
        {
            "model": model_name,
            "version": outcome["version"],
            "outcome": outcome["outcome"],
            "sha256": record["sha256"],
            **({"alert": alert} if alert else {}),
        }
    )
    restored = f" (restored {outcome['restored']})" if outcome.get("restored") else ""
    from pipelines.steps.progress import emit

    emit(
        "deploy",
        f"deploy: {model_name} {outcome['version']} {outcome['outcome']}{restored} [{outcome['target']}, {strategy}]",
        [*outcome.get("reasons", []), *([f"alert: {alert}"] if alert else [])],
        model=model_name,
        version=outcome["version"],
        outcome=outcome["outcome"],
    )
    return outcome["outcome"]

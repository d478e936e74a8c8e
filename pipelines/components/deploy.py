"""Component: deploy the gated model (KServe canary or blue-green on a cluster; the local registry and serving
process otherwise), judge the candidate, promote or roll back, and write the run's lineage record."""

from kfp.dsl import Artifact, Dataset, Input, Markdown, Model, Output

from pipelines.components._runtime import DATA_PACKAGES, KUBERNETES, MODEL_STORE_PACKAGES, component


@component([*DATA_PACKAGES, KUBERNETES, *MODEL_STORE_PACKAGES])
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
) -> str:
    """Returns the outcome (``promoted``, ``rolled_back`` or ``unchanged``); ``lineage`` holds the full record.

    ``model_version`` empty: ``v<N>`` in the local registry, ``run-<run id prefix>`` on a cluster.
    ``registry_root`` empty: ``registry`` next to the local ``feature_repo`` (``.local-run/registry``).
    ``model_store_uri``: the stack's models bucket; required on a cluster (the version is copied there first,
    with its lineage and reference profile beside it, and a promotion is recorded there for the monitor).
    ``run_id``: the caller's id for the run (lineage, rollout owner); empty: ``pipeline_job_id`` (KFP's).
    A rollback sends the ``rolled_back`` alert (``alert_*``; empty: no alerts).
    """
    import json
    import os

    from pipelines.alerts import ROLLED_BACK, Alert, notify
    from pipelines.retrain import record_stable, store_for_monitoring
    from pipelines.serving.deploy import collect_lineage, deploy, gate_summary, probe_rows, resolve_target
    from pipelines.serving.rollout import HealthPolicy, check_strategy

    check_strategy(strategy, canary_traffic_percent)
    run_id = run_id or pipeline_job_id
    policy = HealthPolicy(max_error_rate, max_p95_latency_ms, max_latency_ratio, min_requests)
    version = model_version or ("" if resolve_target(target) == "local" else f"run-{run_id[:8]}")
    gate = gate_summary(gate_report.path, dict(gate_report.metadata))
    record = collect_lineage(
        model_name=model_name, version=version, dataset_path=dataset.path,
        dataset_meta={**dataset.metadata, "reference_window": reference_profile.metadata.get("window")},
        model_dir=model.path, model_uri=model.uri, model_meta=dict(model.metadata),
        evaluation_path=evaluation.path, gate=gate, commit=git_commit, run_id=run_id,
        deploy_params={"strategy": strategy, "canary_traffic_percent": canary_traffic_percent,
                       "health_policy": vars(policy), "window_seconds": window_seconds})
    if not registry_root and feature_repo:
        registry_root = os.path.join(os.path.dirname(os.path.abspath(feature_repo)), "registry")
    on_cluster = resolve_target(target) != "local"
    if on_cluster and model_store_uri:
        store_for_monitoring(model_store_uri, model_name, version, record, reference_profile.path)
    outcome, record = deploy(
        target=target, model_name=model_name, version=version, lineage=record, model_dir=model.path,
        model_uri=model.uri, reference_profile=reference_profile.path, rows=probe_rows(dataset.path),
        strategy=strategy, canary_percent=canary_traffic_percent, policy=policy, window_seconds=window_seconds,
        registry_root=registry_root, serving_url=serving_url, feature_repo=feature_repo, namespace=namespace,
        serving_runtime=serving_runtime, model_store_uri=model_store_uri, run_id=run_id)
    if on_cluster and model_store_uri and outcome["outcome"] in ("promoted", "unchanged"):
        record_stable(model_store_uri, model_name, outcome, record["sha256"], run_id)
    alert = ""
    if outcome["outcome"] == "rolled_back":
        alert = notify(alert_webhook_url, alert_format, alert_secret_env, Alert(
            ROLLED_BACK, model_name, f"{model_name} {outcome['version']} rolled back"
            + (f" to {outcome['restored']}" if outcome.get("restored") else "") + ": "
            + "; ".join(outcome.get("reasons", []))[:200],
            {"run_id": run_id, "version": outcome["version"], "restored": outcome.get("restored"),
             "reasons": outcome.get("reasons", []), "target": outcome["target"]}))
    with open(lineage.path, "w") as fh:
        json.dump(record, fh, indent=2)
    lineage.metadata.update({"model": model_name, "version": outcome["version"], "outcome": outcome["outcome"],
                             "sha256": record["sha256"], **({"alert": alert} if alert else {})})
    restored = f" (restored {outcome['restored']})" if outcome.get("restored") else ""
    print(f"deploy: {model_name} {outcome['version']} {outcome['outcome']}{restored} [{outcome['target']}, "
          f"{strategy}]" + "".join(f"\n  - {r}" for r in outcome.get("reasons", []))
          + (f"\n  - alert: {alert}" if alert else ""))
    return outcome["outcome"]

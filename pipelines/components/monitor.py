"""Component: drift/degradation check of the deployed model on a new data window; past a threshold, start the
training pipeline through the KFP API (on a cluster this component runs as a recurring run)."""

from kfp.dsl import Artifact, Input, Markdown, Model, Output

from pipelines.components._runtime import FEAST_PACKAGES, REQUESTS, TORCH, component


@component([*FEAST_PACKAGES, TORCH, REQUESTS])
def monitor_model(
    reference_profile: Input[Artifact],
    model: Input[Model],
    report: Output[Markdown],
    feature_repo: str,
    window_end: str,
    window_start: str = "",
    window_days: int = 30,
    baseline_auc: float = 0.0,
    method: str = "psi",
    max_drift: float = 0.25,
    max_auc_drop: float = 0.05,
    min_rows: int = 200,
    kfp_host: str = "",
    retrain_pipeline: str = "train-validate-deploy",
    experiment: str = "credit-risk",
    ca_bundle: str = "",
) -> str:
    """Returns ``ok``, ``retrain`` or ``insufficient-data``. The window is ``[window_start, window_end)``, or the
    ``window_days`` before ``window_end`` (the run's creation time in the monitoring pipeline). With ``kfp_host``
    set and a ``retrain`` decision, it starts the latest version of ``retrain_pipeline`` with the pod's
    service-account token (TLS verified)."""
    import json
    from datetime import datetime, timedelta

    from pipelines.serving.monitor import RETRAIN, MonitorPolicy, check, window_frame

    policy = MonitorPolicy(method, max_drift, max_auc_drop, min_rows)
    end = datetime.fromisoformat(window_end)
    window_start = window_start or (end - timedelta(days=window_days)).isoformat()
    with open(reference_profile.path) as fh:
        reference = json.load(fh)
    frame = window_frame(feature_repo, window_start, window_end)
    result = check(reference, frame, policy, f"feature window {window_start} .. {window_end}", model.path,
                   baseline_auc or None)
    if result.decision == RETRAIN and kfp_host:
        from pipelines.submit import KfpClient, resolve_token, trigger_run

        token, _ = resolve_token()
        run = trigger_run(KfpClient(kfp_host, token=token, ca_bundle=ca_bundle or None), retrain_pipeline, experiment,
                          {}, f"retrain: {'; '.join(result.reasons)[:80]}")
        result.reasons.append(f"started run {run.run_id}: {run.url}")
    with open(report.path, "w") as fh:
        fh.write(result.to_markdown(policy))
    report.metadata.update({"decision": result.decision, "rows": result.rows, "drifted": result.drifted})
    print(f"monitor: {result.decision}" + "".join(f"\n  - {r}" for r in result.reasons))
    return result.decision

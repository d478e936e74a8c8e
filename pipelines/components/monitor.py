"""Component: drift/degradation check of the deployed model on a new data window; past a threshold, start the
training pipeline through the KFP API with the window rolled forward (on a cluster this runs as a recurring run)."""

from kfp.dsl import Markdown, Output

from pipelines.components._runtime import (
    FEAST_PACKAGES,
    MODEL_STORE_PACKAGES,
    REQUESTS,
    SERVING_UNUSED_STEPS,
    TORCH,
    component,
)


@component([*FEAST_PACKAGES, TORCH, REQUESTS, *MODEL_STORE_PACKAGES], without=SERVING_UNUSED_STEPS)
def monitor_model(
    report: Output[Markdown],
    model_store_uri: str,
    feature_repo: str,
    window_end: str,
    method: str,
    max_drift: float,
    max_auc_drop: float,
    min_rows: int,
    model_name: str = "credit-risk",
    window_start: str = "",
    window_days: int = 30,
    baseline_auc: float = 0.0,
    train_days: int = 549,
    reference_days: int = 182,
    serving_url: str = "",
    kfp_host: str = "",
    retrain_pipeline: str = "train-validate-deploy",
    experiment: str = "credit-risk",
    ca_bundle: str = "",
    alert_webhook_url: str = "",
    alert_format: str = "",
    alert_secret_env: str = "MLOPS_ALERT_SECRET",
) -> str:
    """Returns ``ok``, ``retrain`` or ``insufficient-data``.

    The thresholds (``method``, ``max_drift``, ``max_auc_drop``, ``min_rows``) have no defaults here: the
    monitoring pipeline passes them, defaulting to ``pipelines.serving.monitor.DEFAULT_POLICY`` (a component's
    source runs on its own in the step's pod, where a default could only be a copied literal).

    Checks the stable version of ``model_name`` as the model store records it (its promotion entry, lineage and
    reference profile), so after a retrain and a promotion the next check watches the new model. ``baseline_auc``
    0 takes the AUC from that version's lineage; a positive value overrides it. The window is
    ``[window_start, window_end)``, or the ``window_days`` before ``window_end`` (the run's creation time). With
    ``kfp_host`` set and a ``retrain`` decision, it starts the latest version of ``retrain_pipeline`` (pod's
    service-account token, TLS verified) with the training window rolled forward to ``window_end`` and sends the
    ``retrain_started`` alert.
    """
    import json
    import tempfile
    from datetime import datetime, timedelta

    from pipelines.alerts import RETRAIN_STARTED, Alert, notify
    from pipelines.retrain import baseline_auc as baseline_of
    from pipelines.retrain import load_current, retrain_parameters
    from pipelines.serving.monitor import RETRAIN, MonitorPolicy, check, window_frame

    policy = MonitorPolicy(method, max_drift, max_auc_drop, min_rows)
    end = datetime.fromisoformat(window_end)
    window_start = window_start or (end - timedelta(days=window_days)).isoformat()
    with tempfile.TemporaryDirectory() as workdir:
        current = load_current(model_store_uri, model_name, workdir)
        frame = window_frame(feature_repo, window_start, window_end)
        result = check(
            current.reference_profile,
            frame,
            policy,
            f"feature window {window_start} .. {window_end}",
            current.model_dir,
            baseline_of(current.lineage, baseline_auc),
        )
    lines = [f"monitored {model_name} {current.version} (sha256 {current.sha256[:12]})"]
    retrain = {}
    if result.decision == RETRAIN and kfp_host:
        from pipelines.submit import KfpClient, resolve_token, trigger_run

        params, notes = retrain_parameters(
            current.lineage,
            window_end,
            model_name=model_name,
            model_store_uri=model_store_uri,
            feature_repo=feature_repo,
            serving_url=serving_url,
            train_days=train_days,
            reference_days=reference_days,
        )
        token, _ = resolve_token()
        run = trigger_run(
            KfpClient(kfp_host, token=token, ca_bundle=ca_bundle or None),
            retrain_pipeline,
            experiment,
            params,
            f"retrain {model_name} {params['train_start']}..{params['train_end']}: {'; '.join(result.reasons)[:80]}",
        )
        retrain = {"run_id": run.run_id, "url": run.url, "parameters": params}
        result.reasons.append(f"started run {run.run_id}: {run.url}")
        lines += [f"retraining parameters: {json.dumps(params, sort_keys=True)}", *notes]
        alert = notify(
            alert_webhook_url,
            alert_format,
            alert_secret_env,
            Alert(
                RETRAIN_STARTED,
                model_name,
                f"{model_name} {current.version}: retraining started ({result.reasons[0]})",
                {
                    "run_id": run.run_id,
                    "url": run.url,
                    "monitored_version": current.version,
                    "reasons": result.reasons,
                    "train_window": [params["train_start"], params["train_end"]],
                    "seed": params["seed"],
                },
            ),
        )
        lines.append(f"alert: {alert}")
        retrain["alert"] = alert
    with open(report.path, "w") as fh:
        fh.write(result.to_markdown(policy) + "\n" + "".join(f"- {line}\n" for line in lines))
    report.metadata.update(
        {
            "decision": result.decision,
            "rows": result.rows,
            "drifted": result.drifted,
            "model": model_name,
            "version": current.version,
            "baseline_auc": result.baseline_auc,
            **({"retrain": retrain} if retrain else {}),
        }
    )
    from pipelines.steps.progress import emit

    emit("monitor", f"monitor: {result.decision}", [*result.reasons, *lines], decision=result.decision)
    return result.decision

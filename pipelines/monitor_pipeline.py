"""The monitoring pipeline: one drift/degradation check of the deployed model, submitted as a KFP recurring run
(``mlops pipeline submit --monitor --cron ...``) over the ``window_days`` before each run. The model checked is the
stable version of ``model_name`` that the model store records (so it follows promotions); its step starts the
training pipeline, window rolled forward, when the check fails."""

from kfp import dsl

from pipelines.components.monitor import monitor_model
from pipelines.serving.monitor import DEFAULT_POLICY
from pipelines.train_validate_deploy import with_alert_secret

PIPELINE_NAME = "monitor-credit-risk"


@dsl.pipeline(name=PIPELINE_NAME, description="Drift and label degradation of the deployed credit-risk model")
def monitor_credit_risk(
    model_store_uri: str,
    model_name: str = "credit-risk",
    window_days: int = 30,
    feature_repo: str = "/feast/feature_repo",
    baseline_auc: float = 0.0,
    method: str = DEFAULT_POLICY.method,
    max_drift: float = DEFAULT_POLICY.max_drift,
    max_auc_drop: float = DEFAULT_POLICY.max_auc_drop,
    min_rows: int = DEFAULT_POLICY.min_rows,
    train_days: int = 549,
    reference_days: int = 182,
    serving_url: str = "",
    kfp_host: str = "",
    retrain_pipeline: str = "train-validate-deploy",
    experiment: str = "credit-risk",
    alert_webhook_url: str = "",
    alert_format: str = "",
    alert_secret_env: str = "MLOPS_ALERT_SECRET",
):
    check = monitor_model(
        model_store_uri=model_store_uri,
        model_name=model_name,
        feature_repo=feature_repo,
        window_end=dsl.PIPELINE_JOB_CREATE_TIME_UTC_PLACEHOLDER,
        window_days=window_days,
        baseline_auc=baseline_auc,
        method=method,
        max_drift=max_drift,
        max_auc_drop=max_auc_drop,
        min_rows=min_rows,
        train_days=train_days,
        reference_days=reference_days,
        serving_url=serving_url,
        kfp_host=kfp_host,
        retrain_pipeline=retrain_pipeline,
        experiment=experiment,
        alert_webhook_url=alert_webhook_url,
        alert_format=alert_format,
        alert_secret_env=alert_secret_env,
    )
    check.set_display_name("drift / degradation check")
    with_alert_secret(check)


def compile_to(path) -> None:
    from kfp import compiler

    compiler.Compiler().compile(monitor_credit_risk, str(path))

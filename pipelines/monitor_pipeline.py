"""The monitoring pipeline: one drift/degradation check of the deployed model, submitted as a KFP recurring run
(``mlops pipeline submit --monitor --cron ...``) over the ``window_days`` before each run. Its step starts the
training pipeline when the check fails."""

from kfp import dsl

from pipelines.components.monitor import monitor_model

PIPELINE_NAME = "monitor-credit-risk"


@dsl.pipeline(name=PIPELINE_NAME, description="Drift and label degradation of the deployed credit-risk model")
def monitor_credit_risk(
    reference_profile_uri: str,
    model_uri: str,
    window_days: int = 30,
    feature_repo: str = "/feast/feature_repo",
    baseline_auc: float = 0.0,
    method: str = "psi",
    max_drift: float = 0.25,
    max_auc_drop: float = 0.05,
    min_rows: int = 200,
    kfp_host: str = "",
    retrain_pipeline: str = "train-validate-deploy",
    experiment: str = "credit-risk",
):
    profile = dsl.importer(artifact_uri=reference_profile_uri, artifact_class=dsl.Artifact)
    model = dsl.importer(artifact_uri=model_uri, artifact_class=dsl.Model)
    check = monitor_model(reference_profile=profile.output, model=model.output, feature_repo=feature_repo,
                          window_end=dsl.PIPELINE_JOB_CREATE_TIME_UTC_PLACEHOLDER, window_days=window_days,
                          baseline_auc=baseline_auc, method=method,
                          max_drift=max_drift, max_auc_drop=max_auc_drop, min_rows=min_rows, kfp_host=kfp_host,
                          retrain_pipeline=retrain_pipeline, experiment=experiment)
    check.set_display_name("drift / degradation check")


def compile_to(path) -> None:
    from kfp import compiler

    compiler.Compiler().compile(monitor_credit_risk, str(path))

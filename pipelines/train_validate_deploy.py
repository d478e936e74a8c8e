"""The pipeline: load (Feast) -> validate -> train trials in parallel -> pick the best -> mitigate (per-group decision
thresholds) -> evaluate -> gate (metrics and the organisation's fairness policy) -> deploy.

The online store is loaded (materialize-features) only after validate-data passed and before deploy, so a batch that
fails validation is never served to the live model.

The training step requests one ``nvidia.com/gpu`` and carries the GPU pools' node selector and toleration, read from
:mod:`components.gpu` (the one place that defines them). Locally the placement is ignored and training uses the CPU.
"""

from kfp import dsl, kubernetes

from components.gpu import GPU_NODE_SELECTOR, GPU_RESOURCE, GPU_TOLERATION
from pipelines.components.deploy import deploy_model
from pipelines.components.evaluate import evaluate_model
from pipelines.components.gate import release_gate
from pipelines.components.load_data import load_training_data
from pipelines.components.materialize import materialize_features
from pipelines.components.mitigate import mitigate_model
from pipelines.components.reject import release_rejected
from pipelines.components.select_best import select_best_model
from pipelines.components.train import train_model
from pipelines.components.validate_data import validate_data
from pipelines.features.schema import FEATURE_SERVICE
from pipelines.steps.fairness_policy import load_policy
from pipelines.steps.gate import DEPLOY, REJECT

PIPELINE_NAME = "train-validate-deploy"

DEFAULT_TRIALS = [
    {"learning_rate": 0.003, "hidden": 64, "layers": 2, "dropout": 0.1},
    {"learning_rate": 0.001, "hidden": 128, "layers": 3, "dropout": 0.2},
    {"learning_rate": 0.01, "hidden": 32, "layers": 1, "dropout": 0.0},
]
"""The hyperparameter search: one training task per entry, run in parallel."""

TRAINING_RETRIES = 2
"""A retried training step resumes from its last per-epoch checkpoint."""

FAIRNESS_FLOORS = load_policy().floors
"""The organisation's floors (policies/fairness.yaml) as the fairness parameters' defaults; a run may only tighten."""

ALERT_SECRET = "mlops-alerting"
ALERT_SECRET_KEY = "secret"
"""The Kubernetes Secret (in the pipeline's namespace) whose ``secret`` key holds the alert credential (PagerDuty
routing key, ServiceNow ``user:password`` or token); optional, mounted as ``$MLOPS_ALERT_SECRET``."""


def with_alert_secret(task: dsl.PipelineTask) -> dsl.PipelineTask:
    """Expose the alerting Secret to a step that sends alerts; a missing Secret leaves the variable unset."""
    from pipelines.alerts import DEFAULT_SECRET_ENV

    kubernetes.use_secret_as_env(task, secret_name=ALERT_SECRET,
                                 secret_key_to_env={ALERT_SECRET_KEY: DEFAULT_SECRET_ENV}, optional=True)
    return task


def place_on_gpu_pool(task: dsl.PipelineTask) -> dsl.PipelineTask:
    """Request one GPU and carry the GPU pools' node selector and toleration."""
    task.set_accelerator_type(GPU_RESOURCE).set_accelerator_limit(1)
    for key, value in GPU_NODE_SELECTOR.items():
        kubernetes.add_node_selector(task, label_key=key, label_value=value)
    kubernetes.add_toleration(task, **GPU_TOLERATION)
    return task


@dsl.pipeline(name=PIPELINE_NAME, description="Credit-risk model: Feast features -> validated, gated PyTorch model")
def train_validate_deploy(
    feature_repo: str = "/feast/feature_repo",
    feature_service: str = FEATURE_SERVICE,
    train_start: str = "2024-07-01",
    train_end: str = "2026-01-01",
    reference_start: str = "2024-01-01",
    reference_end: str = "2024-07-01",
    checkpoint_root: str = "/checkpoints",
    trials: list = DEFAULT_TRIALS,
    max_epochs: int = 20,
    patience: int = 3,
    batch_size: int = 512,
    seed: int = 42,
    device: str = "auto",
    max_psi: float = 0.25,
    min_auc: float = 0.70,
    max_ece: float = 0.05,
    max_robustness_drop: float = 0.05,
    max_demographic_parity_difference: float = FAIRNESS_FLOORS["demographic_parity"]["max_difference"],
    min_demographic_parity_ratio: float = FAIRNESS_FLOORS["demographic_parity"]["min_ratio"],
    max_equalized_odds_difference: float = FAIRNESS_FLOORS["equalized_odds"]["max_difference"],
    min_equalized_odds_ratio: float = FAIRNESS_FLOORS["equalized_odds"]["min_ratio"],
    fairness_exception: str = "",
    mitigation_constraint: str = "demographic_parity",
    model_name: str = "credit-risk",
    deploy_strategy: str = "canary",
    canary_traffic_percent: int = 10,
    serving_url: str = "",
    model_store_uri: str = "",
    git_commit: str = "",
    run_id: str = "",
    alert_webhook_url: str = "",
    alert_format: str = "",
    alert_secret_env: str = "MLOPS_ALERT_SECRET",
):
    """``run_id``: the caller's id for this run (the local runner passes its own); empty: KFP's job id."""
    load = load_training_data(feature_repo=feature_repo, feature_service=feature_service, start=train_start,
                              end=train_end, reference_start=reference_start, reference_end=reference_end)
    load.set_display_name("load training data (Feast)")
    validate = validate_data(dataset=load.outputs["dataset"], reference_profile=load.outputs["reference_profile"],
                             max_psi=max_psi)
    validate.set_display_name("validate data")
    materialize = materialize_features(feature_repo=feature_repo, end=train_end)
    materialize.after(validate)
    materialize.set_display_name("materialize validated features (online store)")

    with dsl.ParallelFor(items=trials, name="hyperparameter-search") as trial:
        train = train_model(dataset=load.outputs["dataset"], trial=trial, checkpoint_root=checkpoint_root,
                            run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER, max_epochs=max_epochs, patience=patience,
                            batch_size=batch_size, seed=seed, device=device)
        train.after(validate)
        train.set_display_name("train trial")
        train.set_retry(TRAINING_RETRIES)
        train.set_cpu_request("2").set_memory_request("8Gi").set_memory_limit("16Gi")
        place_on_gpu_pool(train)

    best = select_best_model(models=dsl.Collected(train.outputs["model"]),
                             val_losses=dsl.Collected(train.outputs["val_loss"]))
    best.set_display_name("select best trial")
    mitigate = mitigate_model(dataset=load.outputs["dataset"], model=best.outputs["best_model"],
                              constraint=mitigation_constraint)
    mitigate.set_display_name("mitigate (fairness thresholds, validation split)")
    evaluate = evaluate_model(dataset=load.outputs["dataset"], model=mitigate.outputs["mitigated_model"])
    evaluate.set_display_name("evaluate (held-out)")
    gate = release_gate(evaluation=evaluate.outputs["evaluation"], min_auc=min_auc, max_ece=max_ece,
                        max_robustness_drop=max_robustness_drop,
                        max_demographic_parity_difference=max_demographic_parity_difference,
                        min_demographic_parity_ratio=min_demographic_parity_ratio,
                        max_equalized_odds_difference=max_equalized_odds_difference,
                        min_equalized_odds_ratio=min_equalized_odds_ratio, fairness_exception=fairness_exception)
    gate.set_display_name("release gate")
    with dsl.If(gate.outputs["Output"] == DEPLOY, name="gate-passed"):
        deploy = deploy_model(model=mitigate.outputs["mitigated_model"], dataset=load.outputs["dataset"],
                              reference_profile=load.outputs["reference_profile"],
                              evaluation=evaluate.outputs["evaluation"], gate_report=gate.outputs["report"],
                              model_name=model_name, strategy=deploy_strategy,
                              canary_traffic_percent=canary_traffic_percent, serving_url=serving_url,
                              model_store_uri=model_store_uri, feature_repo=feature_repo, git_commit=git_commit,
                              run_id=run_id, pipeline_job_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
                              alert_webhook_url=alert_webhook_url, alert_format=alert_format,
                              alert_secret_env=alert_secret_env)
        deploy.after(materialize)
        deploy.set_display_name("deploy (canary or blue-green; promote or roll back)")
        with_alert_secret(deploy)
    with dsl.If(gate.outputs["Output"] == REJECT, name="gate-rejected"):
        # The gate's report is written by then; this step alerts and fails the run so a refusal is never "Succeeded".
        rejected = release_rejected(gate_report=gate.outputs["report"], model_name=model_name,
                                    alert_webhook_url=alert_webhook_url, alert_format=alert_format,
                                    alert_secret_env=alert_secret_env, run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER)
        rejected.set_display_name("release rejected (fails the run)")
        with_alert_secret(rejected)

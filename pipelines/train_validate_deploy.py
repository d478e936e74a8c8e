"""The pipeline: load (Feast) -> validate -> hyperparameter search (Katib on a cluster, Optuna locally) -> train the
best configuration data-parallel (a Kubeflow Trainer TrainJob on a cluster, torchrun ranks locally) -> mitigate
(per-group decision thresholds) -> evaluate -> gate (metrics and the organisation's fairness policy) -> deploy.

The online store is loaded (materialize-features) only after validate-data passed and before deploy, so a batch that
fails validation is never served to the live model.

With ``training_backend="kubeflow"`` (the compiled default) the search and training steps are launchers: the Katib
trials and the TrainJob's ranks request ``nvidia.com/gpu`` (``gpus_per_node`` per node, over ``num_nodes``) and carry
the GPU pools' node selector, toleration and Kueue queue, read from :mod:`components.gpu` (the one place that defines
them). With ``"local"`` (the local runner) the search runs Optuna trials and training runs ``local_processes``
torchrun ranks over gloo on this machine's CPU.
"""

from kfp import dsl, kubernetes

from components.versions import TRAINING_IMAGE
from pipelines.components.approve import approve_release
from pipelines.components.deploy import deploy_model
from pipelines.components.evaluate import evaluate_model
from pipelines.components.gate import release_gate
from pipelines.components.load_data import load_training_data
from pipelines.components.materialize import materialize_features
from pipelines.components.mitigate import mitigate_model
from pipelines.components.reject import release_rejected
from pipelines.components.search import search_hyperparameters
from pipelines.components.train import train_model
from pipelines.components.validate_data import validate_data
from pipelines.features.schema import FEATURE_SERVICE
from pipelines.serving.approvals import DEPLOYER_TOKEN, GATE_TOKEN
from pipelines.steps.fairness_policy import load_policy
from pipelines.steps.gate import DEPLOY, REJECT

PIPELINE_NAME = "train-validate-deploy"

TRAINING_RETRIES = 2
"""A retried training step resumes from its last per-epoch checkpoint (durable: the object store or a PVC); a retried
search attaches to its Katib Experiment, or resumes its Optuna journal."""

FAIRNESS_FLOORS = load_policy().floors
"""The organisation's floors (policies/fairness.yaml) as the fairness parameters' defaults; a run may only tighten."""

ALERT_SECRET = "mlops-alerting"
ALERT_SECRET_KEY = "secret"
"""The Kubernetes Secret (in the pipeline's namespace) whose ``secret`` key holds the alert credential (PagerDuty
routing key, ServiceNow ``user:password`` or token); optional, mounted as ``$MLOPS_ALERT_SECRET``."""


GATE_TOKEN_SECRET = "release-gate-token"
DEPLOYER_TOKEN_SECRET = "pipeline-deployer-token"
"""The token Secrets of the release-gate and pipeline-deployer ServiceAccounts (components/security/admission.py)."""


def acting_as(task: dsl.PipelineTask, secret_name: str, token_file: str) -> dsl.PipelineTask:
    """Mount one identity's token into this task only: KFP v2 runs every task as ``pipeline-runner`` (the training
    identity), so the approve and deploy steps call the API server with their own identity's token instead."""
    kubernetes.use_secret_as_volume(task, secret_name=secret_name, mount_path=token_file.rsplit("/", 1)[0])
    return task


def with_alert_secret(task: dsl.PipelineTask) -> dsl.PipelineTask:
    """Expose the alerting Secret to a step that sends alerts; a missing Secret leaves the variable unset."""
    from pipelines.alerts import DEFAULT_SECRET_ENV

    kubernetes.use_secret_as_env(
        task, secret_name=ALERT_SECRET, secret_key_to_env={ALERT_SECRET_KEY: DEFAULT_SECRET_ENV}, optional=True
    )
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
    training_backend: str = "kubeflow",
    training_image: str = TRAINING_IMAGE.reference,
    max_trials: int = 12,
    parallel_trials: int = 2,
    search_max_epochs: int = 8,
    num_nodes: int = 1,
    gpus_per_node: int = 1,
    interconnect: str = "",
    local_processes: int = 2,
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
    require_approval: bool = False,
    approval_timeout_seconds: float = 86400.0,
):
    """``run_id``: the caller's id for this run (the local runner passes its own); empty: KFP's job id.
    ``require_approval``: the gate-approved version waits for a human approver's sign-off before it is deployed
    (production; docs/security-release-admission.md)."""
    load = load_training_data(
        feature_repo=feature_repo,
        feature_service=feature_service,
        start=train_start,
        end=train_end,
        reference_start=reference_start,
        reference_end=reference_end,
    )
    load.set_display_name("load training data (Feast)")
    validate = validate_data(
        dataset=load.outputs["dataset"], reference_profile=load.outputs["reference_profile"], max_psi=max_psi
    )
    validate.set_display_name("validate data")
    materialize = materialize_features(feature_repo=feature_repo, end=train_end)
    materialize.after(validate)
    materialize.set_display_name("materialize validated features (online store)")

    search = search_hyperparameters(
        dataset=load.outputs["dataset"],
        backend=training_backend,
        max_trials=max_trials,
        parallel_trials=parallel_trials,
        max_epochs=search_max_epochs,
        seed=seed,
        training_image=training_image,
        patience=patience,
        batch_size=batch_size,
        device=device,
        checkpoint_root=checkpoint_root,
        run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
    )
    search.after(validate)
    search.set_display_name("hyperparameter search (Katib / Optuna)")
    search.set_retry(TRAINING_RETRIES)
    train = train_model(
        dataset=load.outputs["dataset"],
        study=search.outputs["study"],
        hyperparams=search.outputs["best_params"],
        checkpoint_root=checkpoint_root,
        run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
        backend=training_backend,
        processes=local_processes,
        num_nodes=num_nodes,
        gpus_per_node=gpus_per_node,
        interconnect=interconnect,
        training_image=training_image,
        max_epochs=max_epochs,
        patience=patience,
        batch_size=batch_size,
        seed=seed,
        device=device,
    )
    train.set_display_name("train best configuration (TrainJob / torchrun DDP)")
    train.set_retry(TRAINING_RETRIES)
    mitigate = mitigate_model(
        dataset=load.outputs["dataset"], model=train.outputs["model"], constraint=mitigation_constraint
    )
    mitigate.set_display_name("mitigate (fairness thresholds, validation split)")
    evaluate = evaluate_model(dataset=load.outputs["dataset"], model=mitigate.outputs["mitigated_model"])
    evaluate.set_display_name("evaluate (held-out)")
    gate = release_gate(
        evaluation=evaluate.outputs["evaluation"],
        min_auc=min_auc,
        max_ece=max_ece,
        max_robustness_drop=max_robustness_drop,
        max_demographic_parity_difference=max_demographic_parity_difference,
        min_demographic_parity_ratio=min_demographic_parity_ratio,
        max_equalized_odds_difference=max_equalized_odds_difference,
        min_equalized_odds_ratio=min_equalized_odds_ratio,
        fairness_exception=fairness_exception,
    )
    gate.set_display_name("release gate")
    with dsl.If(gate.outputs["Output"] == DEPLOY, name="gate-passed"):
        approve = approve_release(
            model=mitigate.outputs["mitigated_model"],
            model_name=model_name,
            feature_repo=feature_repo,
            require_approval=require_approval,
            approval_timeout_seconds=approval_timeout_seconds,
            run_id=run_id,
            pipeline_job_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
        )
        approve.set_display_name("record release approval (release-gate identity)")
        acting_as(approve, GATE_TOKEN_SECRET, GATE_TOKEN)
        deploy = deploy_model(
            model=mitigate.outputs["mitigated_model"],
            dataset=load.outputs["dataset"],
            reference_profile=load.outputs["reference_profile"],
            evaluation=evaluate.outputs["evaluation"],
            gate_report=gate.outputs["report"],
            model_name=model_name,
            strategy=deploy_strategy,
            canary_traffic_percent=canary_traffic_percent,
            serving_url=serving_url,
            model_store_uri=model_store_uri,
            feature_repo=feature_repo,
            git_commit=git_commit,
            run_id=run_id,
            pipeline_job_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
            alert_webhook_url=alert_webhook_url,
            alert_format=alert_format,
            alert_secret_env=alert_secret_env,
            require_approval=require_approval,
        )
        deploy.after(materialize, approve)
        deploy.set_display_name("deploy (canary or blue-green; promote or roll back)")
        with_alert_secret(deploy)
        acting_as(deploy, DEPLOYER_TOKEN_SECRET, DEPLOYER_TOKEN)
    with dsl.If(gate.outputs["Output"] == REJECT, name="gate-rejected"):
        # The gate's report is written by then; this step alerts and fails the run so a refusal is never "Succeeded".
        rejected = release_rejected(
            gate_report=gate.outputs["report"],
            model_name=model_name,
            alert_webhook_url=alert_webhook_url,
            alert_format=alert_format,
            alert_secret_env=alert_secret_env,
            run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
        )
        rejected.set_display_name("release rejected (fails the run)")
        with_alert_secret(rejected)

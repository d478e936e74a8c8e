"""Component: evaluate the chosen model on the held-out split; KFP Metrics plus a readable report."""

from kfp.dsl import Artifact, Dataset, Input, Markdown, Metrics, Model, Output

from pipelines.components._runtime import STEP_EMBEDDED_PACKAGES, TRAIN_PACKAGES, component


@component(TRAIN_PACKAGES, STEP_EMBEDDED_PACKAGES)
def evaluate_model(
    dataset: Input[Dataset],
    model: Input[Model],
    metrics: Output[Metrics],
    report: Output[Markdown],
    evaluation: Output[Artifact],
    perturbation_noise: float = 0.1,
):
    """AUC, accuracy, ECE, Brier, demographic parity / equalized odds differences, robustness, importance."""
    from pipelines.steps.evaluate import SCALARS
    from pipelines.steps.evaluate import evaluate_model as evaluate

    result = evaluate(dataset.path, model.path, report.path, evaluation.path, noise=perturbation_noise)
    for name in SCALARS:
        metrics.log_metric(name, result[name])
    for name, drop in result["permutation_importance"].items():
        metrics.log_metric(f"importance_{name}", drop)
    evaluation.metadata.update({name: result[name] for name in SCALARS})

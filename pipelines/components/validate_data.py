"""Component: validate the training data; a failure stops the run and leaves a readable report."""

from kfp.dsl import Artifact, Dataset, Input, Markdown, Output

from pipelines.components._runtime import DATA_PACKAGES, STEP_EMBEDDED_PACKAGES, component


@component(DATA_PACKAGES, STEP_EMBEDDED_PACKAGES)
def validate_data(
    dataset: Input[Dataset],
    reference_profile: Input[Artifact],
    report: Output[Markdown],
    min_rows: int = 1000,
    min_label_rate: float = 0.02,
    max_label_rate: float = 0.6,
    max_psi: float = 0.25,
):
    """Schema, nulls, ranges, label balance and PSI drift; raises with the report's text when anything fails."""
    from pipelines.steps.validate_data import validate_data as validate

    summary = validate(
        dataset.path,
        reference_profile.path,
        report.path,
        min_rows=min_rows,
        min_label_rate=min_label_rate,
        max_label_rate=max_label_rate,
        max_psi=max_psi,
    )
    report.metadata.update({"ok": summary["ok"], "label_rate": summary["label_rate"]})

"""Component: fairness mitigation; per-group decision thresholds (fairlearn ThresholdOptimizer on the validation
split) written into a copy of the chosen model, so they are part of the registered version and its sha256."""

from kfp.dsl import Dataset, Input, Model, Output

from pipelines.components._runtime import MITIGATE_PACKAGES, STEP_EMBEDDED_PACKAGES, component


@component(MITIGATE_PACKAGES, STEP_EMBEDDED_PACKAGES)
def mitigate_model(
    dataset: Input[Dataset],
    model: Input[Model],
    mitigated_model: Output[Model],
    constraint: str = "demographic_parity",
):
    """Copy ``model`` to ``mitigated_model`` with ``decision_thresholds.json`` and ``mitigation.json`` added."""
    from pipelines.steps.mitigate import mitigate

    summary = mitigate(dataset.path, model.path, mitigated_model.path, constraint=constraint)
    mitigated_model.metadata.update(
        {
            **dict(model.metadata),
            "mitigation": summary["method"],
            "thresholds": {g: v["threshold"] for g, v in summary["groups"].items()},
        }
    )
    print(
        f"mitigation ({constraint}) on {summary['fit_rows']} validation rows: "
        + ", ".join(f"{g} {v['threshold']:.3f}" for g, v in summary["groups"].items())
    )

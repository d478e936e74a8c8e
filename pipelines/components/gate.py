"""Component: the release gate; its decision decides whether the pipeline deploys, its report says why."""

from kfp.dsl import Artifact, Input, Markdown, Output

from pipelines.components._runtime import component


@component([])
def release_gate(
    evaluation: Input[Artifact],
    report: Output[Markdown],
    min_auc: float = 0.70,
    max_ece: float = 0.05,
    max_demographic_parity_difference: float = 0.20,
    max_equalized_odds_difference: float = 0.35,
    max_robustness_drop: float = 0.05,
) -> str:
    """Returns ``"deploy"`` or ``"reject"``; every failed threshold is listed in the report and the log."""
    import json

    from pipelines.steps.gate import gate

    with open(evaluation.path) as fh:
        result = gate(json.load(fh), report.path, min_auc, max_ece, max_demographic_parity_difference,
                      max_equalized_odds_difference, max_robustness_drop)
    report.metadata.update({"decision": result["decision"], "reasons": result["reasons"]})
    print(f"gate: {result['decision']}" + "".join(f"\n  - {r}" for r in result["reasons"]))
    return result["decision"]

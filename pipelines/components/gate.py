"""Component: the release gate; its decision decides whether the pipeline deploys, its report says why.

The fairness floors come from the organisation's policy embedded in the component (``policies/fairness.yaml``); the
``max_*``/``min_*`` fairness parameters may only tighten them (a looser one fails the step). They have no defaults
here (KFP copies a component's source, so a default could not be read from the policy); the pipeline passes them,
with the policy's floors as its defaults.
"""

from kfp.dsl import Artifact, Input, Markdown, Output

from pipelines.components._runtime import GATE_PACKAGES, STEP_EMBEDDED_PACKAGES, component


@component(GATE_PACKAGES, STEP_EMBEDDED_PACKAGES)
def release_gate(
    evaluation: Input[Artifact],
    report: Output[Markdown],
    max_demographic_parity_difference: float,
    min_demographic_parity_ratio: float,
    max_equalized_odds_difference: float,
    min_equalized_odds_ratio: float,
    min_auc: float = 0.70,
    max_ece: float = 0.05,
    max_robustness_drop: float = 0.05,
    fairness_exception: str = "",
) -> str:
    """Returns ``"deploy"`` or ``"reject"``; every failed check is listed in the report and the log.

    ``fairness_exception``: the id of a reviewed record in ``policies/exceptions/fairness.yaml`` waiving the failing
    fairness checks it lists; an unknown, expired, malformed or unapproved one rejects.
    """
    import json

    from pipelines.steps.gate import gate

    floors = {
        "max_demographic_parity_difference": max_demographic_parity_difference,
        "min_demographic_parity_ratio": min_demographic_parity_ratio,
        "max_equalized_odds_difference": max_equalized_odds_difference,
        "min_equalized_odds_ratio": min_equalized_odds_ratio,
    }
    with open(evaluation.path) as fh:
        result = gate(
            json.load(fh),
            report.path,
            min_auc,
            max_ece,
            max_robustness_drop,
            fairness_floors=floors,
            fairness_exception=fairness_exception,
        )
    exception = result["fairness"]["exception"]
    report.metadata.update(
        {
            "decision": result["decision"],
            "reasons": result["reasons"],
            "fairness_policy_sha256": result["fairness"]["policy"]["sha256"],
            "fairness_exception": exception or {},
        }
    )
    from pipelines.steps.progress import emit

    waived = [f"fairness exception {exception['id']} waived {', '.join(exception['waived'])}"] if exception else []
    emit("gate", f"gate: {result['decision']}", [*result["reasons"], *waived], decision=result["decision"])
    return result["decision"]

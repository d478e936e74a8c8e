"""Component: the release gate; its decision decides whether the pipeline deploys, its report says why.

The fairness floors come from the organisation's policy embedded in the component (``policies/fairness.yaml``); the
``max_*``/``min_*`` fairness parameters may only tighten them (a looser one fails the step), and their defaults are
the policy's floors, read when the pipeline is compiled.
"""

from kfp.dsl import Artifact, Input, Markdown, Output

from pipelines.components._runtime import GATE_PACKAGES, component
from pipelines.steps.fairness_policy import load_policy

_FLOORS = load_policy().floors


@component(GATE_PACKAGES)
def release_gate(
    evaluation: Input[Artifact],
    report: Output[Markdown],
    min_auc: float = 0.70,
    max_ece: float = 0.05,
    max_robustness_drop: float = 0.05,
    max_demographic_parity_difference: float = _FLOORS["demographic_parity"]["max_difference"],
    min_demographic_parity_ratio: float = _FLOORS["demographic_parity"]["min_ratio"],
    max_equalized_odds_difference: float = _FLOORS["equalized_odds"]["max_difference"],
    min_equalized_odds_ratio: float = _FLOORS["equalized_odds"]["min_ratio"],
    fairness_exception: str = "",
) -> str:
    """Returns ``"deploy"`` or ``"reject"``; every failed check is listed in the report and the log.

    ``fairness_exception``: the id of a reviewed record in ``policies/exceptions/fairness.yaml`` waiving the failing
    fairness checks it lists; an unknown, expired, malformed or unapproved one rejects.
    """
    import json

    from pipelines.steps.gate import gate

    floors = {"max_demographic_parity_difference": max_demographic_parity_difference,
              "min_demographic_parity_ratio": min_demographic_parity_ratio,
              "max_equalized_odds_difference": max_equalized_odds_difference,
              "min_equalized_odds_ratio": min_equalized_odds_ratio}
    with open(evaluation.path) as fh:
        result = gate(json.load(fh), report.path, min_auc, max_ece, max_robustness_drop, fairness_floors=floors,
                      fairness_exception=fairness_exception)
    exception = result["fairness"]["exception"]
    report.metadata.update({"decision": result["decision"], "reasons": result["reasons"],
                            "fairness_policy_sha256": result["fairness"]["policy"]["sha256"],
                            "fairness_exception": exception or {}})
    print(f"gate: {result['decision']}" + "".join(f"\n  - {r}" for r in result["reasons"])
          + (f"\n  - fairness exception {exception['id']} waived {', '.join(exception['waived'])}" if exception else ""))
    return result["decision"]

"""The release gate: compare evaluation metrics with thresholds and record the decision and every reason."""

from __future__ import annotations

import json
import math
from pathlib import Path

DEPLOY, REJECT = "deploy", "reject"


def gate(evaluation: dict, report_path: str, min_auc: float, max_ece: float, max_demographic_parity_difference: float,
         max_equalized_odds_difference: float, max_robustness_drop: float) -> dict:
    """``{"decision": "deploy"|"reject", "reasons": [...], "checks": [...]}``; a Markdown record to ``report_path``."""
    rules = [
        ("auc", ">=", min_auc),
        ("ece", "<=", max_ece),
        ("demographic_parity_difference", "<=", max_demographic_parity_difference),
        ("equalized_odds_difference", "<=", max_equalized_odds_difference),
        ("robustness_drop", "<=", max_robustness_drop),
    ]
    checks = []
    for metric, op, limit in rules:
        value = evaluation.get(metric)
        ok = value is not None and math.isfinite(value) and (value >= limit if op == ">=" else value <= limit)
        checks.append({"metric": metric, "value": value, "rule": f"{op} {limit}", "passed": ok})
    reasons = [f"{c['metric']} = {c['value'] if c['value'] is None else round(c['value'], 4)} fails {c['rule']}"
               for c in checks if not c["passed"]]
    result = {"decision": REJECT if reasons else DEPLOY, "reasons": reasons, "checks": checks}
    lines = [f"# Release gate: {result['decision'].upper()}", "", "| metric | value | rule | result |", "|---|---|---|---|"]
    lines += [f"| {c['metric']} | {c['value']} | {c['rule']} | {'pass' if c['passed'] else 'FAIL'} |" for c in checks]
    if reasons:
        lines += ["", "Not deployed because:", *(f"- {r}" for r in reasons)]
    lines += ["", "```json", json.dumps(result, indent=2), "```"]
    Path(report_path).parent.mkdir(parents=True, exist_ok=True)
    Path(report_path).write_text("\n".join(lines) + "\n")
    return result

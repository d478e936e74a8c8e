"""The release gate: compare evaluation metrics with thresholds and the organisation's fairness policy, and record the
decision and every reason.

AUC, ECE and robustness are pipeline parameters. Fairness is judged by ``policies/fairness.yaml``
(:mod:`pipelines.steps.fairness_policy`): per sensitive attribute, group sizes and each metric's confidence bound
against floors a run may only tighten. A failing fairness check is waived only by a reviewed exception record the
run names; the waiver is written into the report (and from there into the lineage).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from pathlib import Path

DEPLOY, REJECT = "deploy", "reject"


def gate(
    evaluation: dict,
    report_path: str,
    min_auc: float,
    max_ece: float,
    max_robustness_drop: float,
    *,
    fairness_floors: Mapping[str, float | None] | None = None,
    fairness_exception: str = "",
    policy_path: str | Path | None = None,
    exceptions_path: str | Path | None = None,
    approvers_path: str | Path | None = None,
    today: dt.date | None = None,
) -> dict:
    """``{"decision": "deploy"|"reject", "reasons": [...], "checks": [...], "fairness": {...}}``; a Markdown record to
    ``report_path``. ``fairness_floors`` are the run's ``max_*``/``min_*`` fairness parameters; one looser than the
    policy raises :class:`~pipelines.steps.fairness_policy.PolicyError` (the step fails, nothing is deployed), as
    does a malformed policy file."""
    from pipelines.steps import fairness_policy as fp

    policy = fp.load_policy(policy_path or fp.POLICY_FILE)
    floors = policy.tightened(fairness_floors or {})
    rules = [("auc", ">=", min_auc), ("ece", "<=", max_ece), ("robustness_drop", "<=", max_robustness_drop)]
    checks, reasons = [], []
    for metric, op, limit in rules:
        value = evaluation.get(metric)
        ok = (
            isinstance(value, (int, float))
            and math.isfinite(value)
            and (value >= limit if op == ">=" else value <= limit)
        )
        checks.append({"metric": metric, "value": value, "rule": f"{op} {limit}", "passed": ok})
        if not ok:  # a non-number (None, a string) is shown as it came, not rounded
            reasons.append(
                f"{metric} = {round(value, 4) if isinstance(value, (int, float)) else repr(value)} fails {op} {limit}"
            )

    judged = fp.fairness_checks(evaluation, policy, floors)
    exception, exception_problem = None, ""
    if fairness_exception:
        try:
            exception = fp.load_exception(
                fairness_exception,
                policy.attributes,
                exceptions_path or fp.EXCEPTIONS_FILE,
                approvers_path or fp.APPROVERS_FILE,
                today,
            )
        except fp.PolicyError as exc:
            exception_problem = str(exc)
            reasons.append(f"fairness exception {fairness_exception!r} not honoured: {exc}")
    waived = []
    for c in judged["checks"]:
        c["waived"] = bool(not c["passed"] and exception and c["check"] in exception.checks)
        if c["waived"]:
            waived.append(c["check"])
        checks.append(
            {
                "metric": c["check"],
                "value": c["value"],
                "bound": c["bound"],
                "rule": c["rule"],
                "passed": c["passed"],
                "waived": c["waived"],
            }
        )
        if not c["passed"] and not c["waived"]:
            reasons.append(_fairness_reason(c))
    fairness = {
        "policy": policy.describe(),
        "floors": floors,
        "checks": judged["checks"],
        "groups": judged["groups"],
        "excluded_groups": judged["excluded"],
        "exception": {**exception.describe(), "waived": waived} if exception else None,
    }
    if exception_problem:
        fairness["exception_refused"] = {"id": fairness_exception, "problem": exception_problem}
    result = {"decision": REJECT if reasons else DEPLOY, "reasons": reasons, "checks": checks, "fairness": fairness}
    Path(report_path).parent.mkdir(parents=True, exist_ok=True)
    Path(report_path).write_text(_markdown(result))
    return result


def _fairness_reason(c: dict) -> str:
    if c["metric"] == "group_size" or c["bound"] is None or not math.isfinite(c["bound"]):
        return f"{c['check']}: {c['detail'] or 'fails ' + c['rule']}"
    return f"{c['check']} = {c['value']:.4f}, {c['rule'].split(' bound')[0]} bound {c['bound']:.4f}, fails {c['rule']}"


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def _markdown(result: dict) -> str:
    fairness = result["fairness"]
    policy = fairness["policy"]
    lines = [
        f"# Release gate: {result['decision'].upper()}",
        "",
        "| metric | value | rule | result |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {c['metric']} | {_fmt(c['value'])} | {c['rule']} | {'pass' if c['passed'] else 'FAIL'} |"
        for c in result["checks"]
        if "bound" not in c
    ]
    lines += [
        "",
        f"## Fairness policy `{policy['source']}` (sha256 {policy['sha256'][:12]})",
        "",
        (
            f"Approval is the favourable outcome; a check passes when its {policy['confidence_level']:.0%} "
            f"confidence bound is within the floor; groups need {policy['min_group_size']} held-out rows."
        ),
        "",
        "| check | value | bound | floor | result |",
        "|---|---|---|---|---|",
    ]
    for c in fairness["checks"]:
        verdict = "pass" if c["passed"] else "WAIVED" if c["waived"] else "FAIL"
        lines.append(f"| {c['check']} | {_fmt(c['value'])} | {_fmt(c['bound'])} | {c['rule']} | {verdict} |")
    lines += ["", "| attribute | group | held-out rows |", "|---|---|---|"]
    lines += [f"| {a} | {g} | {n} |" for a, groups in fairness["groups"].items() for g, n in groups.items()]
    for e in fairness["excluded_groups"]:
        lines.append(f"\nExcluded by the policy: {e['attribute']}={e['group']} ({e['rows']} rows): {e['reason']}")
    if fairness["exception"]:
        e = fairness["exception"]
        lines += [
            "",
            (
                f"**Fairness exception {e['id']}** (requested by {e['requested_by']}, approved by "
                f"{e['approved_by']}, expires {e['expires']}): waived {', '.join(e['waived']) or 'nothing'}. "
                f"Reason: {e['reason']}"
            ),
        ]
    if result["reasons"]:
        lines += ["", "Not deployed because:", *(f"- {r}" for r in result["reasons"])]
    lines += ["", "```json", json.dumps(result, indent=2), "```"]
    return "\n".join(lines) + "\n"

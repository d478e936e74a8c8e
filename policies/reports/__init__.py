"""Gate reports: a terminal table, and JSON, SARIF 2.1.0, JUnit XML and a self-contained HTML file.

Every format shows every finding, suppressed ones included (with reason and expiry), traced to the Pulumi
resource (URN, name, component) and the stack file.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from policies.gate import Finding, GateReport, StackReport

FORMATS = ("json", "sarif", "junit", "html")


def coverage_summary(stack: StackReport) -> dict[str, Counter]:
    """provider package -> Counter of coverage statuses (translated / not-rendered / no-checks / untranslatable)."""
    out: dict[str, Counter] = {}
    for row in stack.coverage:
        out.setdefault(row.package, Counter())[row.status] += 1
    return dict(sorted(out.items()))


def coverage_by_type(stack: StackReport) -> dict[str, int]:
    """``<framework>:<type Checkov sees>`` -> resources translated to it (``terraform_plan:aws_s3_bucket``,
    ``arm:Microsoft.Storage/storageAccounts``, ``kubernetes:kubernetes:apps/v1:Deployment``): which check families
    could run, per type."""
    counts: Counter = Counter()
    for row in stack.coverage:
        if row.status == "translated":
            target = row.detail.split(" (", 1)[0] if row.framework in ("terraform_plan", "arm") else row.type
            counts[f"{row.framework}:{target}"] += 1
    return dict(sorted(counts.items()))


def not_rendered(stack: StackReport) -> list[Any]:
    return [row for row in stack.coverage if row.status == "not-rendered"]


def unscanned(stack: StackReport) -> list[Any]:
    """Rows that should have been scanned and were not, because the user allowed it (``--allow-unscanned``)."""
    return [row for row in stack.coverage if row.status == "unscanned"]


def unknown_lines(stack: StackReport) -> list[str]:
    """One line per unknown input: settings the checks could not judge, and references set to a placeholder."""
    return [
        f"{u.type} {u.name}: {u.path} "
        + (f"is a reference, written as {u.reference}" if u.reference else "unknown before deployment: NOT checked")
        for u in stack.unknown
    ]


def remediation(finding: Finding) -> str:
    return finding.remediation or finding.check_name


def suppression_json(finding: Finding) -> dict[str, Any] | None:
    s = finding.suppression
    if s is None:
        return None
    return {
        "reason": s.reason,
        "expires": s.expires.isoformat(),
        "approvedBy": s.approved_by,
        "file": s.file,
        "resource": s.resource,
    }


def to_json(report: GateReport) -> dict[str, Any]:
    catalog = report.catalog
    return {
        "exitCode": report.exit_code,
        "checkovVersion": report.checkov_version,
        "date": report.today.isoformat(),
        "summary": dict(Counter(f.status for f in report.findings)),
        "expiredSuppressions": [
            {
                "file": s.file,
                "index": s.index,
                "check": s.check,
                "resource": s.resource,
                "expires": s.expires.isoformat(),
            }
            for s in report.expired
        ],
        "unapprovedSuppressions": [
            {"file": s.file, "index": s.index, "check": s.check, "resource": s.resource, "approvedBy": s.approved_by}
            for s in report.unapproved
        ],
        "recordsOfProcessing": [r.model_dump(mode="json") for r in report.records],
        "unusedSuppressions": [
            {"file": s.file, "index": s.index, "check": s.check, "resource": s.resource} for s in report.unused
        ],
        "stacks": [
            {
                "stack": stack.stack,
                "source": stack.source,
                "resourcesScanned": stack.resources_sent,
                "findings": [
                    {
                        "checkId": f.check_id,
                        "checkName": f.check_name,
                        "status": f.status,
                        "severity": f.severity,
                        "urn": f.urn,
                        "name": f.name,
                        "type": f.type,
                        "component": f.component,
                        "stackFile": f.stack_file,
                        "translatedFile": f.file,
                        "checkovResource": f.resource_id,
                        "guideline": f.guideline,
                        "remediation": remediation(f),
                        "suppression": suppression_json(f),
                        "note": f.note or None,
                    }
                    for f in stack.findings
                ],
                "coverage": {pkg: dict(c) for pkg, c in coverage_summary(stack).items()},
                "coverageByType": coverage_by_type(stack),
                "notRendered": [{"urn": r.urn, "type": r.type, "detail": r.detail} for r in not_rendered(stack)],
                "unscanned": [{"urn": r.urn, "type": r.type, "detail": r.detail} for r in unscanned(stack)],
                "unknownInputs": [
                    {"urn": u.urn, "name": u.name, "type": u.type, "input": u.path, "reference": u.reference}
                    for u in stack.unknown
                ],
                "compliance": {
                    fw: [{"control": c.control, "title": c.title, "status": c.status, "checks": c.checks} for c in rows]
                    for fw, rows in stack.compliance(catalog).items()
                },
            }
            for stack in report.stacks
        ],
    }


def write(report: GateReport, fmt: str, path: Path) -> None:
    """Write ``report`` as ``fmt`` to ``path`` (raises OSError for the caller to report)."""
    import json

    if fmt == "json":
        text = json.dumps(to_json(report), indent=2) + "\n"
    elif fmt == "sarif":
        from policies.reports.sarif import to_sarif

        text = json.dumps(to_sarif(report), indent=2) + "\n"
    elif fmt == "junit":
        from policies.reports.junit import to_junit

        text = to_junit(report)
    elif fmt == "html":
        from policies.reports.html import to_html

        text = to_html(report)
    else:
        raise ValueError(f"unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)

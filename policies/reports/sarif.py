"""SARIF 2.1.0 for GitHub code scanning: one rule per check, one result per failed or suppressed finding.

Locations are the stack file (the file a reviewer edits); the Pulumi URN, name and component are in the message
and the result's properties. Suppressed findings carry a SARIF ``suppressions`` entry (kind external), so code
scanning shows them as dismissed rather than hiding them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from policies.gate import GateReport
from policies.reports import remediation, unscanned

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"CRITICAL": "error", "HIGH": "error", "MEDIUM": "warning", "LOW": "note"}
SECURITY_SEVERITY = {"CRITICAL": "9.5", "HIGH": "8.0", "MEDIUM": "5.5", "LOW": "3.0"}


def _uri(path: str) -> str:
    """Repository-relative where possible (code scanning resolves it against the checkout)."""
    p = Path(path)
    if p.is_absolute():
        try:
            return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
        except ValueError:
            return p.as_posix()
    return os.path.normpath(path).replace(os.sep, "/")


def to_sarif(report: GateReport) -> dict[str, Any]:
    findings = [f for f in report.findings if f.status in ("FAILED", "SUPPRESSED")]
    rules: dict[str, dict[str, Any]] = {}
    for f in report.findings:
        if f.check_id in rules:
            continue
        help_text = remediation(f) + (f"\nGuideline: {f.guideline}" if f.guideline else "")
        rule = {
            "id": f.check_id,
            "name": f.check_id,
            "shortDescription": {"text": f.check_name},
            "fullDescription": {"text": f.check_name},
            "help": {"text": help_text, "markdown": f"**{f.check_name}**\n\n{help_text}"},
            "defaultConfiguration": {"level": LEVEL[f.severity]},
            "properties": {"security-severity": SECURITY_SEVERITY[f.severity], "tags": ["security", "iac", "pulumi"]},
        }
        if f.guideline and f.guideline.startswith("http"):
            rule["helpUri"] = f.guideline
        rules[f.check_id] = rule
    rule_index = {rid: i for i, rid in enumerate(rules)}
    results = []
    for f in findings:
        where = f" in component {f.component}" if f.component else ""
        result: dict[str, Any] = {
            "ruleId": f.check_id,
            "ruleIndex": rule_index[f.check_id],
            "level": LEVEL[f.severity],
            "message": {"text": f"{f.check_name}: {f.type} '{f.name}'{where} (stack {f.stack}, {f.urn})"},
            "locations": [
                {"physicalLocation": {"artifactLocation": {"uri": _uri(f.stack_file)}, "region": {"startLine": 1}}}
            ],
            "partialFingerprints": {"mlopsGate/v1": f"{f.check_id}:{f.urn}"},
            "properties": {
                "stack": f.stack,
                "urn": f.urn,
                "name": f.name,
                "type": f.type,
                "component": f.component,
                "severity": f.severity,
                "translatedFile": f.file,
                "checkovResource": f.resource_id,
            },
        }
        if f.suppression is not None:
            result["suppressions"] = [
                {
                    "kind": "external",
                    "status": "accepted",
                    "justification": f"{f.suppression.reason} (expires {f.suppression.expires.isoformat()}, "
                    f"approved by {f.suppression.approved_by}, {f.suppression.file})",
                }
            ]
        results.append(result)
    for s in report.expired:
        results.append(
            {
                "ruleId": "MLOPS_SUPPRESSION_EXPIRED",
                "level": "error",
                "message": {
                    "text": f"suppression of {s.check} for {s.resource} expired on {s.expires.isoformat()}: "
                    "renew or remove it"
                },
                "locations": [
                    {"physicalLocation": {"artifactLocation": {"uri": _uri(s.file)}, "region": {"startLine": 1}}}
                ],
            }
        )
    if report.expired:
        rules["MLOPS_SUPPRESSION_EXPIRED"] = {
            "id": "MLOPS_SUPPRESSION_EXPIRED",
            "name": "SuppressionExpired",
            "shortDescription": {"text": "A reviewed suppression has expired"},
            "help": {
                "text": "Renew the suppression with a new review and expiry date, or fix the finding and remove it."
            },
            "defaultConfiguration": {"level": "error"},
        }
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mlops-gate",
                        "informationUri": "https://www.checkov.io/",
                        "semanticVersion": "0.1.0",
                        "rules": list(rules.values()),
                        "properties": {
                            "checkovVersion": report.checkov_version,
                            "unscanned": [
                                {"stack": st.stack, "urn": r.urn, "type": r.type, "detail": r.detail}
                                for st in report.stacks
                                for r in unscanned(st)
                            ],
                            "unknownInputs": [
                                {"stack": st.stack, "urn": u.urn, "input": u.path, "reference": u.reference}
                                for st in report.stacks
                                for u in st.unknown
                            ],
                            "unapprovedSuppressions": [
                                {"file": s.file, "index": s.index, "check": s.check, "approvedBy": s.approved_by}
                                for s in report.unapproved
                            ],
                        },
                    }
                },
                "automationDetails": {"id": "mlops-gate/"},
                "results": results,
            }
        ],
    }

"""JUnit XML: one test suite per stack, one test case per check on a resource; failed checks are failures,
suppressed ones are skipped with the reason and expiry, so a CI's test view shows all three."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from policies.gate import GateReport
from policies.reports import remediation


def to_junit(report: GateReport) -> str:
    suites = ET.Element("testsuites", name="mlops-gate")
    for stack in report.stacks:
        counts = stack.counts()
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=f"gate.{stack.stack}",
            tests=str(len(stack.findings)),
            failures=str(counts["FAILED"]),
            skipped=str(counts["SUPPRESSED"]),
            errors="0",
        )
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="stackFile", value=stack.source)
        ET.SubElement(props, "property", name="checkovVersion", value=report.checkov_version)
        for f in stack.findings:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{stack.stack}.{f.type}.{f.name}",
                name=f"{f.check_id} {f.check_name}",
                file=f.stack_file,
            )
            if f.status == "FAILED":
                failure = ET.SubElement(case, "failure", message=f"[{f.severity}] {f.check_name}", type=f.check_id)
                failure.text = (
                    f"resource: {f.urn}\ncomponent: {f.component or '-'}\nstack file: {f.stack_file}\n"
                    f"remediation: {remediation(f)}"
                    + (f"\nguideline: {f.guideline}" if f.guideline else "")
                    + (f"\nnote: {f.note}" if f.note else "")
                )
            elif f.status == "SUPPRESSED" and f.suppression is not None:
                ET.SubElement(
                    case,
                    "skipped",
                    message=(
                        f"suppressed until {f.suppression.expires.isoformat()} by {f.suppression.approved_by}: "
                        + f.suppression.reason
                    ),
                )
    if report.expired:
        suite = ET.SubElement(
            suites,
            "testsuite",
            name="gate.suppressions",
            tests=str(len(report.expired)),
            failures=str(len(report.expired)),
        )
        for s in report.expired:
            case = ET.SubElement(
                suite, "testcase", classname="suppressions", name=f"{s.check} {s.resource}", file=s.file
            )
            ET.SubElement(
                case, "failure", message=f"suppression expired on {s.expires.isoformat()}", type="SuppressionExpired"
            ).text = s.where
    from policies.reports import unknown_lines, unscanned

    gaps = [
        (st.stack, f"unscanned {r.type} {r.urn.rsplit('::', 1)[-1]}", r.detail)
        for st in report.stacks
        for r in unscanned(st)
    ] + [(st.stack, "unknown input", line) for st in report.stacks for line in unknown_lines(st)]
    if gaps:
        suite = ET.SubElement(
            suites, "testsuite", name="gate.coverage-gaps", tests=str(len(gaps)), skipped=str(len(gaps))
        )
        for stack_name, name, detail in gaps:
            case = ET.SubElement(suite, "testcase", classname=f"coverage.{stack_name}", name=name)
            ET.SubElement(case, "skipped", message=detail)
    if report.unapproved:
        suite = ET.SubElement(
            suites, "testsuite", name="gate.unapproved-suppressions", tests=str(len(report.unapproved))
        )
        for s in report.unapproved:
            case = ET.SubElement(
                suite, "testcase", classname="suppressions", name=f"{s.check} {s.resource}", file=s.file
            )
            ET.SubElement(
                case, "skipped", message=f"not honoured: approved_by {s.approved_by!r} is not a configured approver"
            ).text = s.where
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"

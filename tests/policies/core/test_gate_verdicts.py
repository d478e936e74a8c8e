"""The gate's verdicts on traced Checkov results: suppressions, expiry, skips and exit codes (no Checkov run)."""

from __future__ import annotations

import datetime as dt

import pytest

from policies.checkov import CheckResult
from policies.compliance import load_catalog
from policies.gate import EXIT_PASS, EXIT_VIOLATIONS, GateReport, assemble
from policies.suppressions import Suppression
from tests.policies.checkov.test_faults import ADDRESS, FILE, small_stack

TODAY = dt.date(2027, 1, 15)


def result(check_id: str, status: str, resource_id: str = ADDRESS) -> CheckResult:
    stack = small_stack()
    origin = next(iter(stack.origins.values()))
    return CheckResult(
        check_id, f"name of {check_id}", status, "terraform_plan", "tfplan.json", resource_id, origin, FILE
    )


def rule(
    check: str, *, expires: dt.date = dt.date(2027, 6, 30), resource: str = "datasets", index: int = 0
) -> Suppression:
    return Suppression(
        check, resource, "accepted for a documented reason", expires, "security", "global.yaml", index, None
    )


def gate(results: list[CheckResult], rules: list[Suppression] = ()) -> GateReport:
    return assemble([small_stack()], results, list(rules), load_catalog(), TODAY)


def test_all_passed_is_exit_0():
    report = gate([result("CKV_AWS_21", "PASSED")])
    assert report.exit_code == EXIT_PASS and report.findings[0].status == "PASSED"


def test_a_failed_check_is_exit_1_with_severity_and_remediation():
    report = gate([result("CKV_AWS_145", "FAILED"), result("CKV_AWS_21", "PASSED")])
    assert report.exit_code == EXIT_VIOLATIONS
    [failed] = report.failed
    assert (failed.severity, failed.name, failed.component) == ("HIGH", "datasets", "mlops:aws:DataBucket datasets")
    assert "customer-managed KMS key" in failed.remediation


def test_unmapped_check_defaults_to_medium():
    assert gate([result("CKV_AWS_999999", "FAILED")]).failed[0].severity == "MEDIUM"


def test_valid_suppression_turns_failure_into_suppressed_and_keeps_it_reported():
    report = gate([result("CKV_AWS_144", "FAILED")], [rule("CKV_AWS_144")])
    assert report.exit_code == EXIT_PASS
    [finding] = report.findings
    assert finding.status == "SUPPRESSED" and finding.suppression.reason.startswith("accepted")


def test_expired_suppression_no_longer_applies_and_is_itself_a_violation():
    report = gate([result("CKV_AWS_144", "FAILED")], [rule("CKV_AWS_144", expires=dt.date(2027, 1, 14))])
    assert report.exit_code == EXIT_VIOLATIONS
    [finding] = report.findings
    assert finding.status == "FAILED" and "expired on 2027-01-14" in finding.note
    assert [s.check for s in report.expired] == ["CKV_AWS_144"]


def test_expired_suppression_fails_the_gate_even_when_its_finding_is_fixed():
    report = gate([result("CKV_AWS_144", "PASSED")], [rule("CKV_AWS_144", expires=dt.date(2026, 12, 31))])
    assert report.exit_code == EXIT_VIOLATIONS


def test_suppression_of_another_resource_or_check_does_not_apply_and_is_listed_unused():
    report = gate(
        [result("CKV_AWS_144", "FAILED")], [rule("CKV_AWS_144", resource="models"), rule("CKV_AWS_21", index=1)]
    )
    assert report.failed and len(report.unused) == 2


def test_a_check_skipped_inside_the_scanned_file_counts_as_failed():
    [finding] = gate([result("CKV_AWS_21", "SKIPPED")]).findings
    assert finding.status == "FAILED" and "not by a reviewed suppression" in finding.note


def test_one_verdict_per_check_and_resource_worst_wins():
    report = gate([result("CKV_K8S_20", "PASSED"), result("CKV_K8S_20", "FAILED", "Pod.ml.web.app-web")])
    assert [f.status for f in report.findings] == ["FAILED"]


@pytest.mark.parametrize(
    ("statuses", "control_status"),
    [
        (("PASSED", "PASSED"), "passed"),
        (("FAILED", "PASSED"), "failed"),
        (("SUPPRESSED", "PASSED"), "suppressed"),
    ],
)
def test_control_status_is_the_worst_of_its_checks(statuses, control_status):
    first, second = statuses
    rules = [rule("CKV_AWS_145")] if first == "SUPPRESSED" else []
    report = gate(
        [result("CKV_AWS_145", "FAILED" if first != "PASSED" else "PASSED"), result("CKV_AWS_19", second)], rules
    )
    controls = {c.control: c for c in report.stacks[0].compliance(report.catalog)["iso27001"]}
    assert controls["A.8.24"].status == control_status
    assert controls["A.8.24"].checks["CKV_AWS_145"] == first.lower()
    assert controls["A.8.22"].status == "not evaluated"

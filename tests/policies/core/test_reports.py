"""Report formats: SARIF shaped for GitHub code scanning, JUnit a CI parses, HTML an auditor reads, JSON complete."""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET

import pytest
from rich.console import Console

from pipelines.privacy.records import RecordError, checked_records
from policies.compliance import load_catalog
from policies.gate import GateReport, assemble
from policies.reports import write
from policies.reports.terminal import print_report
from policies.translate.model import CoverageRow
from tests.policies.checkov.test_faults import small_stack
from tests.policies.core.conftest import BUCKET_URN
from tests.policies.core.test_gate_verdicts import TODAY, result, rule

CHART = CoverageRow(
    urn="urn:pulumi:gate-test::mlops::kubernetes:helm.sh/v4:Chart::gpu-operator",
    type="kubernetes:helm.sh/v4:Chart",
    package="kubernetes",
    status="not-rendered",
    detail="chart gpu-operator v25.10.1 from https://helm.ngc.nvidia.com/nvidia",
)


@pytest.fixture
def report() -> GateReport:
    stack = small_stack()
    stack.coverage = [
        CoverageRow(
            urn=BUCKET_URN,
            type="aws:s3/bucket:Bucket",
            package="aws",
            status="translated",
            framework="terraform_plan",
            detail="aws_s3_bucket",
        ),
        CHART,
    ]
    results = [result("CKV_AWS_145", "FAILED"), result("CKV_AWS_144", "FAILED"), result("CKV_AWS_21", "PASSED")]
    rules = [rule("CKV_AWS_144"), rule("CKV_AWS_18", expires=dt.date(2026, 1, 1), index=1)]
    gated = assemble([stack], results, rules, load_catalog(), TODAY, checkov_version="3.3.30")
    gated.records = checked_records()
    return gated


def test_sarif_is_shaped_for_code_scanning(report, tmp_path):
    write(report, "sarif", tmp_path / "gate.sarif")
    sarif = json.loads((tmp_path / "gate.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    [run] = sarif["runs"]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["CKV_AWS_145"]["help"]["text"] and rules["CKV_AWS_145"]["properties"]["security-severity"] == "8.0"
    by_rule = {r["ruleId"]: r for r in run["results"]}
    failed = by_rule["CKV_AWS_145"]
    assert failed["level"] == "error" and BUCKET_URN in failed["message"]["text"]
    assert failed["properties"]["urn"] == BUCKET_URN
    assert failed["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "stacks/Pulumi.gate-test.yaml"
    assert run["tool"]["driver"]["rules"][failed["ruleIndex"]]["id"] == "CKV_AWS_145"
    assert by_rule["CKV_AWS_144"]["suppressions"][0]["kind"] == "external"
    assert "MLOPS_SUPPRESSION_EXPIRED" in by_rule and "MLOPS_SUPPRESSION_EXPIRED" in rules
    assert "CKV_AWS_21" not in by_rule  # passed checks are rules, not results


def test_junit_parses_with_failures_and_skips(report, tmp_path):
    write(report, "junit", tmp_path / "gate.xml")
    root = ET.parse(tmp_path / "gate.xml").getroot()
    suite = root.find("testsuite[@name='gate.gate-test']")
    assert suite is not None and (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    failure = suite.find("testcase/failure")
    assert failure.get("type") == "CKV_AWS_145" and BUCKET_URN in failure.text
    assert "suppressed until 2027-06-30" in suite.find("testcase/skipped").get("message")
    assert root.find("testsuite[@name='gate.suppressions']/testcase/failure") is not None


def test_html_has_a_section_per_stack_framework_and_control_and_no_external_assets(report, tmp_path):
    write(report, "html", tmp_path / "gate.html")
    page = (tmp_path / "gate.html").read_text()
    assert 'id="stack-gate-test"' in page
    for fw in ("iso27001", "gdpr", "uae-pdpl"):
        assert f'id="gate-test-{fw}"' in page
    iso_controls = len(load_catalog().frameworks["iso27001"]["controls"])
    # A.8.24 failed and A.8.13 suppressed; every other ISO control the catalogue maps is not evaluated by this scan
    assert f"Controls: 1 failed, 1 suppressed, 0 passed, {iso_controls - 2} not evaluated." in page
    assert "A.8.24</b> Use of cryptography" in page and "Art. 20</b> Personal Data Security" in page
    assert "customer-managed KMS key" in page  # remediation
    assert "accepted for a documented reason" in page and "EXPIRED" in page  # suppressions shown
    assert "gpu-operator v25.10.1" in page  # not-rendered charts with their version
    assert 'id="records"' in page and "Feature service <code>credit_risk_v1</code>" in page
    assert "GDPR Art. 6(1)(b) (contract)" in page and "1825 days" in page
    assert '<code>gender</code></td><td><span class="badge special">special</span>' in page
    assert not re.search(r"<(script|link|img)\b|src=|@import", page)
    ET.fromstring(page.replace("<!DOCTYPE html>", ""))  # well-formed


def test_json_report_has_every_finding_and_the_compliance_view(report, tmp_path):
    write(report, "json", tmp_path / "gate.json")
    doc = json.loads((tmp_path / "gate.json").read_text())
    [stack] = doc["stacks"]
    assert doc["exitCode"] == 1 and doc["summary"] == {"FAILED": 1, "SUPPRESSED": 1, "PASSED": 1}
    suppressed = next(f for f in stack["findings"] if f["status"] == "SUPPRESSED")
    assert suppressed["suppression"]["expires"] == "2027-06-30"
    a824 = next(c for c in stack["compliance"]["iso27001"] if c["control"] == "A.8.24")
    assert a824["status"] == "failed" and a824["checks"]["CKV_AWS_145"] == "failed"
    assert stack["notRendered"][0]["detail"].startswith("chart gpu-operator")
    assert stack["coverageByType"] == {"terraform_plan:aws_s3_bucket": 1}
    [record] = doc["recordsOfProcessing"]
    assert record["feature_service"] == "credit_risk_v1" and record["international_transfers"] == []
    assert {c["feature"] for c in record["data_categories"] if c["category"] == "special"} == {"age_band", "gender"}


def test_invalid_records_of_processing_stop_the_gate(tmp_path, monkeypatch):
    from policies.compliance import records

    (tmp_path / "credit_risk_v1.yaml").write_text("version: 1\nfeature_service: credit_risk_v1\n")
    monkeypatch.setattr(records, "RECORDS_DIR", tmp_path)
    with pytest.raises(RecordError, match=r"credit_risk_v1.yaml: purpose: Field required"):
        checked_records()


def test_terminal_groups_by_stack_and_resource_with_coverage(report):
    console = Console(record=True, width=200)
    print_report(console, report)
    text = console.export_text()
    assert "gate-test" in text and "datasets" in text and "CKV_AWS_145" in text and "HIGH" in text
    assert "SUPPRESSED" in text and "expired suppression" in text
    assert "not rendered offline" in text and "gpu-operator v25.10.1" in text
    assert "FAIL" in text

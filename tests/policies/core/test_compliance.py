"""The compliance mapping: consistent files, every custom check mapped, controls titled as the texts title them."""

from __future__ import annotations

from policies.checkov import CHECKS_DIR, custom_checks
from policies.compliance import SEVERITIES, load_catalog


def test_every_custom_check_is_mapped_to_controls_with_a_severity():
    catalog = load_catalog()
    for check_id in custom_checks(CHECKS_DIR):
        info = catalog.checks.get(check_id)
        assert info is not None, f"{check_id} is not in policies/compliance/checks.yaml"
        assert info.controls and info.severity in SEVERITIES and info.remediation


def test_every_framework_control_has_a_check_behind_it():
    catalog = load_catalog()
    for fw, spec in catalog.frameworks.items():
        for control in spec["controls"]:
            assert catalog.checks_for(fw, control), f"{fw} {control} has no check behind it"


def test_residency_checks_evidence_the_transfer_articles():
    catalog = load_catalog()
    controls = set(catalog.info("CKV_MLOPS_001").controls)
    assert {("gdpr", "Art. 44"), ("uae-pdpl", "Art. 22"), ("uae-pdpl", "Art. 23"), ("iso27001", "A.5.34")} <= controls


def test_pdpl_titles_follow_the_decree_law():
    pdpl = load_catalog().frameworks["uae-pdpl"]
    assert "45 of 2021" in pdpl["title"]
    assert pdpl["controls"]["Art. 20"] == "Personal Data Security"
    assert pdpl["controls"]["Art. 22"].startswith("Cross-Border Transfer")


def test_report_severity_is_the_severity_each_custom_check_declares():
    catalog = load_catalog()
    checks = custom_checks(CHECKS_DIR)
    undeclared = sorted(k for k, c in checks.items() if c.severity is None)
    assert not undeclared, f"custom checks without a literal severity: {undeclared}"
    mismatched = {
        k: (c.severity, catalog.info(k).severity) for k, c in checks.items() if c.severity != catalog.info(k).severity
    }
    assert not mismatched, f"check code vs policies/compliance/checks.yaml: {mismatched}"

"""The organisation's Checkov checks (policies/checks), run by the real Checkov from its own environment.

Every check has fixture directories ``fixtures/<check module>/pass*/`` and ``fail*/``; one Checkov invocation
scans them all (about 2 s of start-up each) and every case is asserted against that one report: on a ``pass*``
case the check must report PASSED and nothing else, on a ``fail*`` case at least one FAILED.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import pytest

REPO = Path(__file__).resolve().parents[3]
CHECKS_DIR = REPO / "policies" / "checks"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BAD_CONTEXT_FIXTURES = Path(__file__).resolve().parent / "fixtures_bad_context"
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
DOCS = REPO / "docs" / "policies.md"
ID_PATTERN = re.compile(r'\bid="(CKV_MLOPS_\d{3})"')


def check_ids() -> dict[str, str]:
    """Check module name -> check id, read from the check files (one check per file)."""
    ids = {}
    for path in sorted(CHECKS_DIR.glob("*.py")):
        if path.name.startswith("_"):
            continue
        found = ID_PATTERN.findall(path.read_text())
        assert len(found) == 1, f"{path.name}: expected exactly one check id, found {found}"
        ids[path.stem] = found[0]
    return ids


CHECK_IDS = check_ids()
CASES = sorted(
    (check, case.name)
    for check in CHECK_IDS
    if (FIXTURES / check).is_dir()
    for case in (FIXTURES / check).iterdir()
    if case.is_dir()
)


class Scan(NamedTuple):
    results: dict[tuple[str, str], dict[str, list[str]]]
    """(check module, case) -> check id -> results."""
    reported: dict[str, tuple[str | None, str | None]]
    """Every check id that reported anything -> (severity, guideline)."""
    stderr: str


def run_checkov(directory: Path, frameworks: set[str]) -> Scan:
    """Scan ``directory`` with the built-in and custom checks; each of ``frameworks`` must have found files."""
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make setup` to create Checkov's environment")
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    env.pop("BC_API_KEY", None)
    proc = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(directory),
            "--external-checks-dir",
            str(CHECKS_DIR),
            "--framework",
            "terraform_plan",
            "arm",
            "kubernetes",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode in (0, 1), f"checkov exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert {r["check_type"] for r in reports} == frameworks, "a framework found nothing to scan"
    results: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    reported: dict[str, tuple[str | None, str | None]] = {}
    for report in reports:
        for kind in ("passed_checks", "failed_checks", "skipped_checks"):
            for record in report["results"][kind]:
                reported[record["check_id"]] = (record.get("severity"), record.get("guideline"))
                parts = Path(record["file_abs_path"]).resolve().relative_to(directory).parts
                results[(parts[0], parts[1])][record["check_id"]].append(record["check_result"]["result"])
    return Scan(results, reported, proc.stderr)


@pytest.fixture(scope="session")
def fixture_scan():
    return run_checkov(FIXTURES, {"terraform_plan", "arm", "kubernetes"})


@pytest.fixture(scope="session")
def bad_context_scan():
    return run_checkov(BAD_CONTEXT_FIXTURES, {"terraform_plan", "arm"})


def test_every_check_has_passing_and_failing_fixtures():
    assert CHECK_IDS, "no checks found"
    for check in CHECK_IDS:
        cases = [case for name, case in CASES if name == check]
        assert any(c.startswith("pass") for c in cases), f"{check}: no pass* fixture"
        assert any(c.startswith("fail") for c in cases), f"{check}: no fail* fixture"
    assert all(case.startswith(("pass", "fail")) for _, case in CASES)


def test_check_ids_are_unique_and_documented():
    assert len(set(CHECK_IDS.values())) == len(CHECK_IDS), CHECK_IDS
    docs = DOCS.read_text()
    for check, check_id in CHECK_IDS.items():
        assert check_id in docs and f"{check}.py" in docs, f"{check_id} ({check}.py) is not in {DOCS.name}"


def test_checks_import_only_checkov_and_the_standard_library():
    allowed = re.compile(r"^(from|import) (__future__|checkov\b|_mlops_\w+|typing|re|os|json|logging|dataclasses)\b")
    for path in CHECKS_DIR.glob("*.py"):
        for line in path.read_text().splitlines():
            if line.startswith(("import ", "from ")):
                assert allowed.match(line), f"{path.name}: {line}"


@pytest.mark.slow
@pytest.mark.parametrize(("check", "case"), CASES, ids=[f"{c}/{k}" for c, k in CASES])
def test_check_result_on_fixture(fixture_scan, check, case):
    check_id = CHECK_IDS[check]
    got = fixture_scan.results[(check, case)][check_id]
    if case.startswith("pass"):
        assert got and set(got) == {"PASSED"}, f"{check_id} on {check}/{case}: {got}"
    else:
        assert "FAILED" in got, f"{check_id} on {check}/{case}: {got}"


@pytest.mark.slow
def test_builtin_checks_still_run_next_to_the_custom_ones(fixture_scan):
    """Loading external checks must not switch off Checkov's own library, graph checks included."""
    for prefix in ("CKV_AWS_", "CKV2_AWS_", "CKV_AZURE_", "CKV_K8S_", "CKV2_K8S_", "CKV_MLOPS_"):
        assert any(check_id.startswith(prefix) for check_id in fixture_scan.reported), f"no {prefix}* result"


@pytest.mark.slow
def test_every_custom_result_carries_severity_and_remediation(fixture_scan):
    """The gate groups findings by severity and shows the guideline; built-ins have neither offline."""
    for check_id in CHECK_IDS.values():
        severity, guideline = fixture_scan.reported[check_id]
        assert severity in ("LOW", "MEDIUM", "HIGH", "CRITICAL"), (check_id, severity)
        assert guideline and f"docs/policies.md#{check_id.lower()}" in guideline, (check_id, guideline)


@pytest.mark.slow
def test_no_check_logs_an_error(fixture_scan):
    """A check that raises only logs an ERROR and its result disappears: there must be none."""
    errors = [line for line in fixture_scan.stderr.splitlines() if "ERROR" in line]
    assert not errors, "\n".join(errors)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("check", "case"),
    [
        ("aws_data_residency", "fail_unreadable_context"),
        ("arm_data_residency", "fail_wrong_shape_context"),
        ("aws_guardduty_eks_protection", "fail_wrong_shape_detection"),
        ("arm_defender_for_containers", "fail_wrong_shape_detection"),
    ],
)
def test_an_unusable_context_file_fails_closed_and_is_logged(bad_context_scan, check, case):
    assert bad_context_scan.results[(check, case)][CHECK_IDS[check]] == ["FAILED"]
    context_file = BAD_CONTEXT_FIXTURES / check / case / "mlops-context.cfg"
    stderr = bad_context_scan.stderr
    assert any("ERROR" in line and str(context_file) in line for line in stderr.splitlines()), stderr[-2000:]

"""Suppression files: every field required, expired ones stop applying, globs match URNs and names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from policies.suppressions import SUPPRESSIONS_DIR, SuppressionFileError, load, load_file
from tests.policies.core.conftest import BUCKET_URN, STACK

GOOD = {
    "check": "CKV_AWS_144",
    "resource": "datasets",
    "reason": "residency forbids replication out of region",
    "expires": "2030-01-31",
    "approved_by": "security",
}


def write(tmp_path: Path, entries: list, name: str = "global.yaml") -> Path:
    import yaml

    path = tmp_path / name
    path.write_text(yaml.safe_dump({"suppressions": entries}))
    return path


def test_valid_entry_loads_with_its_scope(tmp_path):
    [rule] = load_file(write(tmp_path, [GOOD], f"{STACK}.yaml"), STACK)
    assert rule.expires == dt.date(2030, 1, 31) and rule.stack == STACK
    assert rule.matches("CKV_AWS_144", STACK, BUCKET_URN, "datasets")
    assert not rule.matches("CKV_AWS_144", "other-stack", BUCKET_URN, "datasets")
    assert not rule.matches("CKV_AWS_145", STACK, BUCKET_URN, "datasets")


@pytest.mark.parametrize(
    "pattern", ["data*", "urn:pulumi:gate-test::*::datasets", "*DataBucket$aws:s3/bucket:Bucket::*"]
)
def test_globs_match_names_or_urns(tmp_path, pattern):
    [rule] = load_file(write(tmp_path, [{**GOOD, "resource": pattern}]), None)
    assert rule.matches("CKV_AWS_144", STACK, BUCKET_URN, "datasets")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reason": None}, "reason missing"),
        ({"reason": "ok"}, "too short"),
        ({"expires": None}, "expires missing"),
        ({"expires": "next year"}, "not an ISO date"),
        ({"approved_by": ""}, "approved_by missing"),
        ({"check": "S3 encryption"}, "not a Checkov check id"),
        ({"ticket": "SEC-1"}, "unknown key(s) ticket"),
    ],
)
def test_invalid_entries_stop_the_gate_naming_file_entry_and_field(tmp_path, change, message):
    path = write(tmp_path, [GOOD, {**GOOD, **change}])
    with pytest.raises(SuppressionFileError) as err:
        load_file(path, None)
    assert f"{path}: suppressions[1]" in str(err.value) and message in str(err.value)


def test_file_of_wrong_shape_is_rejected(tmp_path):
    path = tmp_path / "global.yaml"
    path.write_text("- check: CKV_AWS_1\n")
    with pytest.raises(SuppressionFileError, match="expected a mapping with one key"):
        load_file(path, None)


def test_expiry_is_inclusive_of_the_day(tmp_path):
    [rule] = load_file(write(tmp_path, [GOOD]), None)
    assert not rule.expired(dt.date(2030, 1, 31)) and rule.expired(dt.date(2030, 2, 1))


def test_load_reads_global_and_only_the_gated_stacks(tmp_path):
    write(tmp_path, [GOOD])
    write(tmp_path, [GOOD], f"{STACK}.yaml")
    write(tmp_path, [GOOD], "elsewhere.yaml")
    assert [r.stack for r in load([STACK], tmp_path)] == [None, STACK]


def test_shipped_suppression_files_are_valid_and_unexpired():
    stacks = [p.stem for p in SUPPRESSIONS_DIR.glob("*.yaml") if p.stem not in ("global", "approvers")]
    rules = load(stacks)
    assert rules and all(not r.expired(dt.date.today()) for r in rules)

"""What the gate reads from the custom checks' source: the entity types each applies to, so a check that stays silent
on a resource it applies to is caught (policies/checkov/completeness.py)."""

from __future__ import annotations

from pathlib import Path

from policies.checkov import CHECKS_DIR, custom_checks


def test_every_shipped_check_declares_entity_types_the_gate_can_read():
    unreadable = sorted(k for k, c in custom_checks(CHECKS_DIR).items() if not c.resources)
    assert not unreadable, f"entity types not readable from source (the check would be due on everything): {unreadable}"


def test_a_helper_modules_kinds_spread_into_a_tuple_are_read(tmp_path: Path):
    (tmp_path / "_kinds.py").write_text('WORKLOADS = ("Deployment", "Pod")\n')
    (tmp_path / "spread.py").write_text(
        "from _kinds import WORKLOADS\n"
        "from checkov.common.models.enums import CheckCategories\n"
        "check = dict(id='CKV_MLOPS_999', categories=[CheckCategories.KUBERNETES],\n"
        "             supported_entities=('Secret', *WORKLOADS))\n"
    )
    assert custom_checks(tmp_path)["CKV_MLOPS_999"].resources == ("Secret", "Deployment", "Pod")


def test_a_spread_of_something_not_literal_reads_as_unknown(tmp_path: Path):
    (tmp_path / "spread.py").write_text(
        "KINDS = compute()\ncheck = dict(id='CKV_MLOPS_998', supported_entities=('Secret', *KINDS))\n"
    )
    assert custom_checks(tmp_path)["CKV_MLOPS_998"].resources == ()

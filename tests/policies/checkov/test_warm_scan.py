"""Checkov started before the previews (its import overlaps them) scans exactly as a cold start does."""

from __future__ import annotations

import pytest

from policies.checkov import CHECKS_DIR, CheckovRun, prestart, run_checkov
from tests import venvs

CHECKOV = venvs.CHECKOV

pytestmark = [
    pytest.mark.slow,
    venvs.requires(CHECKOV, "Checkov's environment (.venv-checkov)"),
]


def _key(run: CheckovRun) -> list[tuple[str, str, str]]:
    return sorted((r.check_id, r.resource_id, r.result) for r in run.results)


def test_warm_and_cold_scans_give_the_same_results(mixed):
    warm = prestart()
    assert warm is not None
    warmed = run_checkov([mixed], warm=warm)
    assert warm.proc.returncode is not None and not warm.root.exists()  # one scan, then gone
    cold = run_checkov([mixed])
    assert _key(warmed) == _key(cold) and warmed.resources_sent == cold.resources_sent
    assert any(r.check_id.startswith("CKV_MLOPS_") for r in warmed.results)


def test_an_unused_warm_checkov_is_ended_and_cleaned_up():
    warm = prestart(CHECKS_DIR)
    assert warm is not None and warm.proc.poll() is None
    warm.close()
    assert warm.proc.returncode is not None and not warm.root.exists()

"""Checkov is started warm (before the previews) only when the executable is Checkov's own Python launcher.

The warm scan itself is compared with a cold one in tests/policies/checkov/test_warm_scan.py (real Checkov).
"""

from __future__ import annotations

from policies.checkov import prestart


def test_no_warm_start_for_a_stand_in_or_a_missing_checkov(fake_checkov, monkeypatch, tmp_path):
    fake_checkov("exit 0\n")
    assert prestart() is None
    monkeypatch.setenv("MLOPS_CHECKOV", str(tmp_path / "absent"))
    assert prestart() is None

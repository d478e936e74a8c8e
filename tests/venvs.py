"""The extra virtual environments some tests run (``make setup`` builds them next to ``.venv``).

A test that needs one is skipped where it is missing, so a partial checkout can still run the rest; with
``MLOPS_REQUIRE_VENVS=1`` (``make test`` and ``make test-fast`` export it, and so should CI) a missing one FAILS the
test instead, so a suite that silently skipped the real Checkov, the policy pack or the CEL evaluator never passes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REQUIRE_ENV = "MLOPS_REQUIRE_VENVS"
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
CHECKOV_TERRAFORM_CHECKS = (
    REPO / ".venv-checkov" / "lib" / "python3.11" / "site-packages" / "checkov" / "terraform" / "checks"
)
POLICY_PYTHON = REPO / ".venv-policy" / "bin" / "python"
CEL_PYTHON = REPO / ".venv-cel" / "bin" / "python"
SETUP = "make setup"


def required() -> bool:
    """Whether missing environments fail tests (``MLOPS_REQUIRE_VENVS`` set to anything but empty or ``0``)."""
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def require(path: Path, what: str) -> None:
    """Inside a test: go on only where ``path`` exists; else skip it, or fail it under ``MLOPS_REQUIRE_VENVS=1``."""
    if path.exists():
        return
    message = f"{what} is missing ({path}): run `{SETUP}` to build it"
    if required():
        pytest.fail(f"{message} ({REQUIRE_ENV}=1: a missing environment fails the test)", pytrace=False)
    pytest.skip(message)


def requires(path: Path, what: str) -> pytest.MarkDecorator:
    """The same as a mark (a decorator or ``pytestmark``): tests/conftest.py calls :func:`require` before the test."""
    return pytest.mark.requires_venv(path=path, what=what)

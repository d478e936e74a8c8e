"""What a Checkov run gives back, and the one error every way of falling short raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policies.translate.model import Origin

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKS_DIR = REPO_ROOT / "policies" / "checks"
DEFAULT_TIMEOUT_S = 300.0
FRAMEWORKS = ("terraform_plan", "arm", "kubernetes")
CUSTOM_PREFIX = "CKV_MLOPS_"


class CheckovError(Exception):
    """Checkov could not give a complete, trustworthy result. The message is for the user, as is."""


@dataclass(frozen=True)
class CheckResult:
    """One check on one translated resource, traced back to its Pulumi resource."""

    check_id: str
    check_name: str
    result: str
    """``PASSED``, ``FAILED`` or ``SKIPPED`` as Checkov reports it (suppressions are applied later, by the gate)."""
    framework: str
    file: str
    """Relative to the stack's folder: ``tfplan.json``, ``arm.json``, ``k8s/<n>.yaml``."""
    resource_id: str
    origin: Origin
    scanned_path: str
    """The file as Checkov names it: ``/<stack folder>/<file>``."""
    guideline: str | None = None
    evaluated_keys: tuple[str, ...] = ()


@dataclass
class CheckovRun:
    results: list[CheckResult]
    version: str
    wall_s: float
    command: list[str]
    resources_sent: int
    custom_checks: dict[str, CustomCheck] = field(default_factory=dict)


@dataclass(frozen=True)
class CustomCheck:
    """What a custom check file declares, read statically (Checkov loads it in its own environment, not here)."""

    id: str
    framework: str | None
    resources: tuple[str, ...]
    """Entity types it applies to (glob patterns as Checkov allows); empty when not a literal in the file."""
    path: str
    severity: str | None = None
    """The severity the check declares (``BcSeverities.HIGH``), where it is literal in the file."""
    may_abstain: bool = False
    """The check can return ``CheckResult.UNKNOWN`` (e.g. the GPU taint check on a CPU node group): Checkov then
    reports nothing, so having no result proves nothing either way. That it was loaded is shown instead by its
    folder (every folder up to the checks folder has ``__init__.py``) and by a Checkov run without load errors."""

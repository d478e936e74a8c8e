"""One Checkov run over every stack asked, and the way from its results back to the Pulumi resources.

Fail closed: anything short of a complete, trustworthy scan raises :class:`CheckovError` (exit 2): Checkov
missing, crashing, timing out, printing something that is not its JSON report, logging a check error (a custom
check that raises only logs ``ERROR`` and its result vanishes), a parsing error, a result that cannot be traced back
to a Pulumi resource, or results for fewer resources than were sent.

Checkov runs from its own environment (``.venv-checkov``; ``MLOPS_CHECKOV`` names another executable): current
Checkov pins ``packaging<24`` and pulumi needs ``packaging>=26``. It never calls the vendor API
(``BC_SKIP_MAPPING=TRUE``, no API key, ``--skip-download``, no package update check).

Modules, one concern each: ``model`` (results, :class:`CheckovError`, defaults), ``executable`` (which Checkov, its
arguments and environment, a cold start), ``warm`` (a process started ahead of the scan), ``files`` (writing the
translated inputs), ``canary`` (proof the manifests were scanned), ``custom_checks`` (what the custom checks declare),
``parse`` (reading Checkov's output strictly), ``trace`` (results back to Pulumi resources), ``completeness`` (results
cover what was sent) and ``run`` (one run, all of the above in order).
"""

from policies.checkov.canary import CANARY_DIR
from policies.checkov.custom_checks import custom_checks
from policies.checkov.executable import checkov_executable
from policies.checkov.files import entity_type, framework_of, stack_dirs, write_inputs
from policies.checkov.model import (
    CHECKS_DIR,
    CUSTOM_PREFIX,
    DEFAULT_TIMEOUT_S,
    FRAMEWORKS,
    REPO_ROOT,
    CheckovError,
    CheckovRun,
    CheckResult,
    CustomCheck,
)
from policies.checkov.run import run_checkov
from policies.checkov.warm import WarmCheckov, prestart

__all__ = [
    "CANARY_DIR",
    "CHECKS_DIR",
    "CUSTOM_PREFIX",
    "DEFAULT_TIMEOUT_S",
    "FRAMEWORKS",
    "REPO_ROOT",
    "CheckResult",
    "CheckovError",
    "CheckovRun",
    "CustomCheck",
    "WarmCheckov",
    "checkov_executable",
    "custom_checks",
    "entity_type",
    "framework_of",
    "prestart",
    "run_checkov",
    "stack_dirs",
    "write_inputs",
]

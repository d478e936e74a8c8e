"""Which Checkov runs, with which arguments and environment, and a cold start of it in its own process group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

from policies.checkov import model
from policies.checkov.model import FRAMEWORKS, CheckovError


def checkov_executable() -> Path:
    """``MLOPS_CHECKOV`` if set, else the pinned Checkov in ``.venv-checkov`` next to this repository."""
    override = os.environ.get("MLOPS_CHECKOV")
    candidate = Path(override) if override else model.REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
    if not candidate.is_file() or not os.access(candidate, os.X_OK):
        how = "MLOPS_CHECKOV points to" if override else "expected the pinned Checkov at"
        raise CheckovError(
            f"Checkov is missing: {how} {candidate}, which is not an executable file. "
            "Run `make setup` (it builds .venv-checkov from policies/requirements-checkov.lock) or set MLOPS_CHECKOV."
        )
    return candidate


def arguments(checks_dir: Path) -> list[str]:
    """Checkov's command-line arguments, run in the folder holding one sub-folder per stack."""
    return [
        "--directory",
        ".",
        "--framework",
        *FRAMEWORKS,
        "--external-checks-dir",
        str(checks_dir),
        "--output",
        "json",
        "--soft-fail",
        "--skip-download",
        "--compact",
    ]


def environment(root: Path) -> dict[str, str]:
    """No vendor API (no key, no mapping download, no update check); warnings and errors only on stderr."""
    env = {k: v for k, v in os.environ.items() if k not in ("BC_API_KEY", "PRISMA_API_URL", "CKV_API_KEY")}
    env.update(
        BC_SKIP_MAPPING="TRUE", CKV_SKIP_PACKAGE_UPDATE_CHECK="TRUE", MLOPS_GATE_ROOT=str(root), LOG_LEVEL="WARNING"
    )
    return env


def run_cold(
    command: list[str], cwd: Path, env: dict[str, str], timeout_s: float, executable: Path
) -> subprocess.CompletedProcess[str]:
    """Run Checkov in its own process group, so a timeout ends it and every process it started."""
    try:
        proc = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
    except OSError as exc:
        raise CheckovError(f"Checkov could not start ({executable}): {exc.strerror or exc}") from None
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise CheckovError(
            f"Checkov timed out after {timeout_s:g} s ({executable}); raise --timeout if the stacks are large"
        ) from None
    except BaseException:
        # interrupted (SIGTERM / SIGINT turned into an exception by the CLI): end Checkov and its children too
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)

"""Checkov started ahead of the scan, so its import overlaps the previews."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from policies.checkov import model
from policies.checkov.executable import arguments, checkov_executable, environment
from policies.checkov.model import CheckovError

_NOT_CHECKOV = 97
"""Exit status of a warm process whose interpreter cannot import Checkov: the scan then starts cold."""
_WARM_CODE = f"""
import sys, warnings
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=SyntaxWarning)
        from checkov.main import Checkov
except Exception:
    sys.exit({_NOT_CHECKOV})
if sys.stdin.readline().strip() != "scan":
    sys.exit(0)
sys.argv[0] = "checkov"
with warnings.catch_warnings():
    warnings.simplefilter("ignore", category=SyntaxWarning)
    sys.exit(Checkov().run())
"""


@dataclass
class WarmCheckov:
    """Checkov started ahead of the scan: it imports its runners and built-in checks (about 3.5 of its 4.5 s of
    start-up) while the gate previews the stacks, then scans the folder when told to. Still one Checkov process and
    one scan; :func:`run_checkov` checks it the same way and falls back to a cold start when it cannot be used."""

    proc: subprocess.Popen[str]
    root: Path
    executable: Path
    checks_dir: Path

    def usable(self, executable: Path, checks_dir: Path, keep_dir: Path | None) -> bool:
        return (
            keep_dir is None
            and self.proc.poll() is None
            and self.executable == executable
            and self.checks_dir == checks_dir
        )

    def close(self) -> None:
        """End the process (and anything it started) if it still runs, and remove its folder."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.communicate()
        shutil.rmtree(self.root, ignore_errors=True)


def prestart(checks_dir: Path | None = None) -> WarmCheckov | None:
    """Start Checkov's import now, for a scan :func:`run_checkov` asks for later; None where the executable is not
    Checkov's own Python launcher (a stand-in, a missing file: the cold start then runs it or reports it)."""
    try:
        executable = checkov_executable()
        script = executable.read_text(errors="replace")
    except (CheckovError, OSError):
        return None
    first_line = script.split("\n", 1)[0]
    launcher = first_line.startswith("#!") and "python" in first_line and "from checkov.main import Checkov" in script
    interpreter = Path(first_line[2:].strip()) if launcher else None
    if interpreter is None or not interpreter.is_file() or not os.access(interpreter, os.X_OK):
        return None
    checks_dir = (checks_dir or model.CHECKS_DIR).resolve()
    root = Path(tempfile.mkdtemp(prefix="mlops-gate-"))
    try:
        proc = subprocess.Popen(
            [str(interpreter), "-c", _WARM_CODE, *arguments(checks_dir)],
            cwd=root,
            env=environment(root),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
    except OSError:
        shutil.rmtree(root, ignore_errors=True)
        return None
    return WarmCheckov(proc, root, executable, checks_dir)


def run_warm(warm: WarmCheckov, command: list[str], timeout_s: float) -> subprocess.CompletedProcess[str] | None:
    """The warm process's scan; None when its interpreter turned out not to have Checkov (start cold instead)."""
    try:
        stdout, stderr = warm.proc.communicate(input="scan\n", timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(warm.proc.pid, signal.SIGKILL)
        warm.proc.communicate()
        raise CheckovError(
            f"Checkov timed out after {timeout_s:g} s ({warm.executable}); raise --timeout if the stacks are large"
        ) from None
    if warm.proc.returncode == _NOT_CHECKOV and not stdout:
        return None
    return subprocess.CompletedProcess(command, warm.proc.returncode, stdout, stderr)

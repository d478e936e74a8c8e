"""Every shell script the bootstrap sends, and every test stand-in, passes shellcheck."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from components.bootstrap.render import SCRIPT

HERE = Path(__file__).parent
SCRIPTS = [*sorted(SCRIPT.parent.glob("*.sh")), HERE / "loopback_host.sh", *sorted((HERE / "standins").iterdir())]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_shellcheck_is_clean(script):
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is not installed: apt-get install shellcheck (.ci/run does)"
    result = subprocess.run([shellcheck, "--severity=style", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_scripts_are_strict_and_executable():
    for script in SCRIPTS:
        text = script.read_text()
        assert text.startswith("#!"), f"{script.name} has no shebang"
        if text.startswith("#!/usr/bin/env bash"):
            assert "set -euo pipefail" in text, f"{script.name} does not set -euo pipefail"
        assert script.stat().st_mode & 0o111, f"{script.name} is not executable"

"""Checkov's output read strictly: a crash, a logged check error, anything but its JSON report, a parsing error."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from policies.checkov.model import CheckovError

_CHECK_ERROR = re.compile(r"\[ERROR\]\s+(.*)")


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def parse_output(proc: subprocess.CompletedProcess[str], executable: Path) -> list[dict[str, Any]]:
    errors = [m.group(1).strip() for m in _CHECK_ERROR.finditer(proc.stderr)]
    if not errors and "Traceback (most recent call last)" in proc.stderr:
        errors = [_tail(proc.stderr, 5)]
    if proc.returncode != 0:
        raise CheckovError(
            f"Checkov crashed (exit {proc.returncode}, {executable}):\n"
            + (_tail(proc.stderr or proc.stdout) or "(no output)")
        )
    if errors:
        raise CheckovError(
            "Checkov logged errors, so some checks did not run (a custom check that raises loses its result):\n  "
            + "\n  ".join(dict.fromkeys(errors))
        )
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise CheckovError(
            f"Checkov printed something that is not its JSON report ({executable}):\n"
            + (_tail(proc.stdout) or "(nothing)")
        ) from None
    reports = doc if isinstance(doc, list) else [doc]
    if not all(isinstance(r, dict) for r in reports):
        raise CheckovError("Checkov's JSON report has an unexpected shape (expected report objects)")
    reports = [r for r in reports if "check_type" in r]
    for report in reports:
        parsing_errors = report.get("results", {}).get("parsing_errors") or []
        if parsing_errors:
            raise CheckovError(
                f"Checkov could not parse {', '.join(map(str, parsing_errors))} ({report['check_type']})"
            )
    return reports

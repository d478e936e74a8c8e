"""One Checkov run over every stack asked: check the custom checks folder, write the inputs, scan (warm or cold),
read the report strictly and trace every result back to its Pulumi resource."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from policies.checkov import model
from policies.checkov.canary import check_canary, write_canary
from policies.checkov.completeness import check_complete
from policies.checkov.custom_checks import custom_checks
from policies.checkov.executable import arguments, checkov_executable, environment, run_cold
from policies.checkov.files import write_inputs
from policies.checkov.model import DEFAULT_TIMEOUT_S, CheckovError, CheckovRun
from policies.checkov.parse import parse_output
from policies.checkov.trace import trace
from policies.checkov.warm import WarmCheckov, run_warm

if TYPE_CHECKING:
    from policies.translate.model import TranslatedStack


def run_checkov(
    stacks: list[TranslatedStack],
    *,
    checks_dir: Path | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    keep_dir: Path | None = None,
    warm: WarmCheckov | None = None,
) -> CheckovRun:
    """Scan every stack's translated files in one Checkov process and trace each result to its Pulumi resource
    (``warm``: the process :func:`prestart` started, if any)."""
    executable = checkov_executable()
    checks_dir = (checks_dir or model.CHECKS_DIR).resolve()
    if not (checks_dir / "__init__.py").is_file():
        raise CheckovError(
            f"custom checks folder {checks_dir} has no __init__.py: Checkov would silently load none of its checks"
        )
    yaml_policies = sorted(str(p.relative_to(checks_dir)) for p in checks_dir.rglob("*.y*ml"))
    if yaml_policies:
        raise CheckovError(
            f"custom checks folder {checks_dir} holds YAML policies ({', '.join(yaml_policies)}): "
            "loading any YAML custom "
            "policy silently disables Checkov's built-in graph checks; write custom checks in Python"
        )
    declared = custom_checks(checks_dir)
    unloadable = sorted(
        f"{c.id} ({c.path})"
        for c in declared.values()
        if any(
            not (folder / "__init__.py").is_file()
            for folder in Path(c.path).parents
            if folder != checks_dir and checks_dir in folder.parents
        )
    )
    if unloadable:
        raise CheckovError(
            "custom checks in a sub-folder without __init__.py, which Checkov silently never loads (add __init__.py "
            "or move them):\n  " + "\n  ".join(unloadable)
        )
    if warm is not None and not warm.usable(executable, checks_dir, keep_dir):
        warm.close()
        warm = None
    root = (
        warm.root
        if warm is not None
        else Path(tempfile.mkdtemp(prefix="mlops-gate-"))
        if keep_dir is None
        else keep_dir
    )
    root.mkdir(parents=True, exist_ok=True)
    try:
        sent = write_inputs(stacks, root)
        write_canary(stacks, sent, root)
        command = [str(executable), *arguments(checks_dir)]
        started = time.perf_counter()
        proc = run_warm(warm, command, timeout_s) if warm is not None else None
        if proc is None:
            proc = run_cold(command, root, environment(root), timeout_s, executable)
        wall = time.perf_counter() - started
        reports = parse_output(proc, executable)
        check_canary(reports, sent)
        results = trace(reports, sent)
        version = next((v for r in reports if (v := str(r.get("summary", {}).get("checkov_version") or ""))), "")
        if not version:
            raise CheckovError(
                f"Checkov's report names no checkov_version ({executable}): the gate cannot tell which Checkov "
                "and which built-in checks ran"
            )
        check_complete(reports, results, sent, declared)
        return CheckovRun(results, version, wall, command, len(sent), declared)
    finally:
        if warm is not None:
            warm.close()
        if keep_dir is None:
            shutil.rmtree(root, ignore_errors=True)

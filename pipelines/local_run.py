"""Run the whole pipeline on this machine: the embedded Feast store plus KFP's local SubprocessRunner.

The runner's own output (executor inputs, pip, every log line) goes to a log file; the console gets one line per
step and the places where the reports went.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

DEFAULT_ROOT = Path(".local-run")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PROGRESS = re.compile(r"Executing task|finished with status|asked for \d+|trial \w+: val_loss|best of \d+ trials|"
                       r"gate: |deploy: |^\s+- |Pipeline .* finished")


class LocalRunFailed(Exception):
    """A step failed; the message names it and where its log is."""


@dataclass
class LocalRunResult:
    run_dir: Path
    log: Path
    decision: str
    seconds: float
    reports: dict[str, Path] = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)


class _ProgressTee:
    """A stdout stand-in: everything to the log file, progress lines (ANSI stripped) to ``echo``."""

    def __init__(self, log, echo: Callable[[str], None]):
        self.log, self.echo, self.pending = log, echo, ""

    def write(self, text: str) -> int:
        self.log.write(text)
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            clean = _ANSI.sub("", line).rstrip()
            if _PROGRESS.search(clean):
                self.echo(clean.strip())
        return len(text)

    def flush(self) -> None:
        self.log.flush()

    def isatty(self) -> bool:
        return False


@contextlib.contextmanager
def _detached_on_exit(stream: Callable[[], object]):
    """Remove the log handlers the local runner left on our tee: they would write to a closed log file later."""
    try:
        yield
    finally:
        target = stream()
        for logger in [logging.getLogger(), *logging.root.manager.loggerDict.values()]:
            for handler in list(getattr(logger, "handlers", [])):
                if isinstance(handler, logging.StreamHandler) and handler.stream is target:
                    logger.removeHandler(handler)


def run_local(root: Path = DEFAULT_ROOT, rows: int = 20_000, seed: int = 7, max_epochs: int = 6,
              echo: Callable[[str], None] = print, **pipeline_args) -> LocalRunResult:
    """Bootstrap the local feature store if needed, then run ``train_validate_deploy`` with the SubprocessRunner."""
    import kfp.local

    from pipelines.features.store import LocalFeatureStore
    from pipelines.train_validate_deploy import PIPELINE_NAME, train_validate_deploy

    root = Path(root).resolve()
    store = LocalFeatureStore(root / "feature_repo")
    pipeline_root = root / "kfp"
    pipeline_root.mkdir(parents=True, exist_ok=True)
    log_path = root / "logs" / f"pipeline-{time.strftime('%Y%m%dT%H%M%S')}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")  # library noise in the step processes
    started = time.perf_counter()
    # `echo` must write to a stream it holds (not to whatever sys.stdout is): the runner's threads create their
    # log handlers on sys.stdout, and swapping it back and forth to print would race them onto the console.
    say = echo
    with open(log_path, "w") as log, contextlib.redirect_stdout(tee := _ProgressTee(log, lambda line: say(f"      {line}"))), \
            contextlib.redirect_stderr(log), warnings.catch_warnings(), _detached_on_exit(lambda: tee):
        warnings.simplefilter("ignore")  # the local runner warns about every cluster-only setting
        say(f"[1/2] feature store: {store.root} (full log: {log_path})")
        try:
            store.bootstrap(rows=rows, seed=seed, progress=lambda msg: say(f"      {msg}"))
        except Exception as exc:
            raise LocalRunFailed(f"feature store bootstrap failed: {exc} (see {log_path})") from None
        say(f"[2/2] pipeline {PIPELINE_NAME} (KFP SubprocessRunner)")
        before = set(pipeline_root.glob(f"{PIPELINE_NAME}-*"))
        kfp.local.init(runner=kfp.local.SubprocessRunner(use_venv=False), pipeline_root=str(pipeline_root),
                       raise_on_error=True)
        args = {"feature_repo": str(store.root), "checkpoint_root": str(root / "checkpoints"),
                "max_epochs": max_epochs, **pipeline_args}
        try:
            train_validate_deploy(**args)
        except Exception as exc:  # the local runner raises RuntimeError naming the failed task
            raise LocalRunFailed(f"{_ANSI.sub('', str(exc)).strip()} (see {log_path})") from None
    runs = sorted(set(pipeline_root.glob(f"{PIPELINE_NAME}-*")) - before)
    if not runs:
        raise LocalRunFailed(f"the pipeline ran but left no outputs under {pipeline_root}")
    return _collect(runs[-1], log_path, time.perf_counter() - started)


def _collect(run_dir: Path, log_path: Path, seconds: float) -> LocalRunResult:
    """Find the reports of a finished local run (the layout is ``<run>/<task>/<output name>``)."""
    reports = {"data validation": run_dir / "validate-data" / "report",
               "evaluation": run_dir / "evaluate-model" / "report",
               "gate": run_dir / "release-gate" / "report",
               "model": run_dir / "select-best-model" / "best_model"}
    if (run_dir / "deploy-model" / "lineage").exists():  # only when the gate let the model deploy
        reports["lineage"] = run_dir / "deploy-model" / "lineage"
    evaluation = json.loads((run_dir / "evaluate-model" / "evaluation").read_text())
    gate_output = json.loads((run_dir / "release-gate" / "executor_output.json").read_text())
    decision = gate_output["parameterValues"]["Output"]
    metrics = {k: evaluation[k] for k in ("auc", "accuracy", "ece", "demographic_parity_difference",
                                          "equalized_odds_difference", "robustness_drop")}
    return LocalRunResult(run_dir=run_dir, log=log_path, decision=decision, seconds=seconds, reports=reports,
                          metrics=metrics)

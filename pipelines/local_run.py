"""Run the whole pipeline on this machine: the embedded Feast store plus KFP's local SubprocessRunner.

The runner's own output (executor inputs, pip, every log line) goes to a log file; the console gets one line per
step and the places where the reports went. Each run has its own id, log (``logs/pipeline-<run id>.log``) and
pipeline root (``kfp/<run id>/``), so concurrent runs on one root never mistake each other's outputs; the id is also
the deploy step's ``run_id`` (lineage, rollout owner). Every task runs in its own process group, and SIGTERM or
SIGINT to the runner is passed on to all of them (then SIGKILL after a grace period), so no task outlives the run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import signal
import subprocess
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.paths import LOCAL_RUN
from pipelines.steps import progress

DEFAULT_ROOT = LOCAL_RUN
LOCAL_SEARCH_TRIALS = 6
"""The local search budget: Optuna trials of at most ``max_epochs`` each, two in parallel (the pipeline's default)."""
TASK_GRACE_SECONDS = 20.0
"""How long the task processes get to end on SIGTERM (the deploy step withdraws its canary) before SIGKILL."""
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_RUNNER_STATUS = (
    ("step_started", re.compile(r"Executing task '(?P<task>[^']+)'")),
    ("step_finished", re.compile(r"Task '(?P<task>[^']+)' finished with status (?P<status>\w+)")),
    ("pipeline_finished", re.compile(r"Pipeline '(?P<pipeline>[^']+)' finished with status (?P<status>\w+)")),
)
"""The local runner's own status lines (KFP's log, in this process: not a step's output), as progress events."""


class LocalRunFailed(Exception):
    """A step failed; the message names it and where its log is. ``reports`` holds the reports the run did write
    (e.g. the gate's, when the gate rejected), ``gate_reasons`` why the gate rejected, if it did."""

    def __init__(self, message: str, reports: dict[str, Path] | None = None, gate_reasons: list[str] | None = None):
        super().__init__(message)
        self.reports = reports or {}
        self.gate_reasons = gate_reasons or []


class _Interrupted(BaseException):
    """SIGTERM or SIGINT reached the runner (a BaseException: KFP's orchestrator must not catch it as a failure)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)


@dataclass
class LocalRunResult:
    run_id: str
    run_dir: Path
    log: Path
    decision: str
    seconds: float
    reports: dict[str, Path] = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    gate_reasons: list[str] = field(default_factory=list)
    deployment: dict = field(default_factory=dict)
    """The deploy step's outcome for this run's version: ``version``, ``outcome`` (empty when the gate rejected)."""


def new_run_id() -> str:
    """Sortable and unique across concurrent runs: start time, pid and a random suffix."""
    return f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"


def progress_event(text: str) -> dict | None:
    """The progress event a line of output carries: a step's structured event (:mod:`pipelines.steps.progress`), or
    the local runner's step/pipeline status; None for any other output (it goes to the log only)."""
    clean = _ANSI.sub("", text).rstrip()
    event = progress.parse(clean)
    if event is not None:
        return event
    for kind, pattern in _RUNNER_STATUS:
        found = pattern.search(clean)
        if found:
            return {"event": kind, "message": clean.strip(), **found.groupdict()}
    return None


class _ProgressTee:
    """A stdout stand-in: everything to the log file, progress events (rendered) to ``echo``."""

    def __init__(self, log, echo: Callable[[str], None]):
        self.log, self.echo, self.pending = log, echo, ""

    def write(self, text: str) -> int:
        self.log.write(text)
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            event = progress_event(line)
            for shown in progress.render(event) if event is not None else []:
                self.echo(shown)
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
        loggers = [
            logging.getLogger(),
            *(lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)),
        ]  # placeholders have no handlers
        for logger in loggers:
            for handler in list(logger.handlers):
                if isinstance(handler, logging.StreamHandler) and handler.stream is target:
                    logger.removeHandler(handler)


class _TaskProcesses:
    """Replaces kfp.local's ``run_local_subprocess`` (same contract: run, echo output, return the exit code) so that
    each task runs in its own process group that this process can end: on SIGTERM/SIGINT every live group gets the
    signal, then SIGKILL after :data:`TASK_GRACE_SECONDS`, and no further task starts."""

    def __init__(self):
        self.groups: set[int] = set()
        self.lock = threading.RLock()  # the signal handler takes it too, possibly in the thread holding it
        self.stopping = False

    def run(self, full_command: list[str], env_vars: dict[str, str] | None = None) -> int:
        env = {**os.environ, **env_vars} if env_vars else None
        with self.lock:
            if self.stopping:
                print("not starting a task: the run was interrupted")
                return 1
            process = subprocess.Popen(
                full_command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
                env=env,
                start_new_session=True,
            )
            self.groups.add(process.pid)
        try:
            assert process.stdout is not None  # stdout=PIPE
            with process:
                for line in iter(process.stdout.readline, ""):
                    print(line, end="")
                print("\n")
                return process.wait()
        finally:
            with self.lock:
                self.groups.discard(process.pid)

    def end_all(self, signum: int) -> None:
        with self.lock:
            self.stopping = True
            groups = list(self.groups)
        for group in groups:
            _signal_group(group, signal.SIGTERM if signum == signal.SIGINT else signum)
        threading.Thread(target=self._kill_after, args=(groups,), daemon=True).start()

    def _kill_after(self, groups: list[int]) -> None:
        deadline = time.monotonic() + TASK_GRACE_SECONDS
        while time.monotonic() < deadline and any(_group_alive(g) for g in groups):
            time.sleep(0.2)
        for group in groups:
            _signal_group(group, signal.SIGKILL)


def _signal_group(group: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, sig)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


@contextlib.contextmanager
def _tasks_end_with_this_process():
    """Run kfp.local's tasks through :class:`_TaskProcesses` and pass SIGTERM/SIGINT on to them (main thread only)."""
    from kfp.local import subprocess_task_handler

    tasks = _TaskProcesses()

    def interrupt(signum, _frame):
        tasks.end_all(signum)
        raise _Interrupted(signum)

    original = subprocess_task_handler.run_local_subprocess
    subprocess_task_handler.run_local_subprocess = tasks.run
    in_main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGINT)} if in_main else {}
    try:
        yield
    except _Interrupted:
        tasks.end_all(signal.SIGTERM)  # idempotent; makes sure nothing new starts while the threads unwind
        raise
    finally:
        subprocess_task_handler.run_local_subprocess = original
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_local(
    root: Path = DEFAULT_ROOT,
    rows: int = 20_000,
    seed: int = 7,
    max_epochs: int = 6,
    echo: Callable[[str], None] = print,
    run_id: str | None = None,
    **pipeline_args,
) -> LocalRunResult:
    """Bootstrap the local feature store if needed (no materialization: the pipeline does that after validation),
    then run ``train_validate_deploy`` with the SubprocessRunner under this run's own id."""
    import kfp.local

    from pipelines.features.store import LocalFeatureStore
    from pipelines.train_validate_deploy import PIPELINE_NAME, train_validate_deploy

    root = Path(root).resolve()
    run_id = run_id or new_run_id()
    store = LocalFeatureStore(root / "feature_repo")
    pipeline_root = root / "kfp" / run_id
    pipeline_root.mkdir(parents=True, exist_ok=False)
    log_path = root / "logs" / f"pipeline-{run_id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")  # library noise in the step processes
    started = time.perf_counter()
    # `echo` must write to a stream it holds (not to whatever sys.stdout is): the runner's threads create their
    # log handlers on sys.stdout, and swapping it back and forth to print would race them onto the console.
    say = echo
    with (
        open(log_path, "w") as log,
        contextlib.redirect_stdout(tee := _ProgressTee(log, lambda line: say(f"      {line}"))),
        contextlib.redirect_stderr(log),
        warnings.catch_warnings(),
        _detached_on_exit(lambda: tee),
    ):
        warnings.simplefilter("ignore")  # the local runner warns about every cluster-only setting
        say(f"[1/2] feature store: {store.root} (run {run_id}; full log: {log_path})")
        try:
            store.bootstrap(rows=rows, seed=seed, progress=lambda msg: say(f"      {msg}"))
        except Exception as exc:  # noqa: BLE001 - any bootstrap failure ends the run with one message and the log
            raise LocalRunFailed(f"feature store bootstrap failed: {exc} (see {log_path})") from None
        say(f"[2/2] pipeline {PIPELINE_NAME} (KFP SubprocessRunner) under {pipeline_root}")
        kfp.local.init(
            runner=kfp.local.SubprocessRunner(use_venv=False), pipeline_root=str(pipeline_root), raise_on_error=True
        )
        args = {
            "feature_repo": str(store.root),
            "checkpoint_root": str(root / "checkpoints"),
            "max_epochs": max_epochs,
            "run_id": run_id,
            "training_backend": "local",
            "search_max_epochs": max_epochs,
            "max_trials": LOCAL_SEARCH_TRIALS,
            **pipeline_args,
        }
        try:
            with _tasks_end_with_this_process():
                train_validate_deploy(**args)
        except _Interrupted as exc:
            raise LocalRunFailed(
                f"run {run_id} interrupted by {exc}; its task processes were ended (see {log_path})",
                *_partial(pipeline_root),
            ) from None
        except Exception as exc:  # noqa: BLE001 - the local runner raises RuntimeError naming the failed task
            raise LocalRunFailed(
                f"{_ANSI.sub('', str(exc)).strip()} (see {log_path})", *_partial(pipeline_root)
            ) from None
    runs = list(pipeline_root.glob(f"{PIPELINE_NAME}-*"))
    if len(runs) != 1:
        raise LocalRunFailed(f"the pipeline ran but left {len(runs)} run directories under {pipeline_root}")
    return _collect(run_id, runs[0], log_path, time.perf_counter() - started)


def _reports(run_dir: Path) -> dict[str, Path]:
    """Where a run's reports are (the layout is ``<run>/<task>/<output name>``)."""
    return {
        "data validation": run_dir / "validate-data" / "report",
        "evaluation": run_dir / "evaluate-model" / "report",
        "hyperparameter search": run_dir / "search-hyperparameters" / "study" / "study.json",
        "gate": run_dir / "release-gate" / "report",
        "model": run_dir / "mitigate-model" / "mitigated_model",
        "lineage": run_dir / "deploy-model" / "lineage",
    }


def gate_reasons(report: Path) -> list[str]:
    """Why the gate decided as it did, from its report (empty when there is no report)."""
    from pipelines.serving.deploy import gate_summary

    return list(gate_summary(str(report), {})["reasons"]) if report.exists() else []


def _partial(pipeline_root: Path) -> tuple[dict[str, Path], list[str]]:
    """The reports a failed run did write, and the gate's reasons if it got that far."""
    runs = list(pipeline_root.glob("*/"))
    if len(runs) != 1:
        return {}, []
    reports = {name: path for name, path in _reports(runs[0]).items() if path.exists()}
    return reports, gate_reasons(reports["gate"]) if "gate" in reports else []


def _collect(run_id: str, run_dir: Path, log_path: Path, seconds: float) -> LocalRunResult:
    """The reports, gate decision, metrics and deployment outcome of a finished local run."""
    reports = _reports(run_dir)
    deployment = {}
    if reports["lineage"].exists():  # only when the gate let the model deploy
        record = json.loads(reports["lineage"].read_text())
        last = (record.get("deployments") or [{}])[-1]
        deployment = {"version": record.get("version"), "outcome": last.get("outcome")}
    else:
        del reports["lineage"]
    evaluation = json.loads((run_dir / "evaluate-model" / "evaluation").read_text())
    gate_output = json.loads((run_dir / "release-gate" / "executor_output.json").read_text())
    decision = gate_output["parameterValues"]["Output"]
    metrics = {
        k: evaluation[k]
        for k in (
            "auc",
            "accuracy",
            "ece",
            "demographic_parity_difference",
            "equalized_odds_difference",
            "robustness_drop",
        )
    }
    return LocalRunResult(
        run_id=run_id,
        run_dir=run_dir,
        log=log_path,
        decision=decision,
        seconds=seconds,
        reports=reports,
        metrics=metrics,
        gate_reasons=gate_reasons(reports["gate"]),
        deployment=deployment,
    )

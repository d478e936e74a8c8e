"""Local hyperparameter search engine: Optuna (TPE sampler + median pruning) over the one search space.

Trials run in parallel worker processes (spawned, so each has its own torch RNG, thread pool and deterministic mode;
threads would share torch's global seed and interleave dropout masks across trials). Each worker trains with
``cores // parallel_trials`` torch threads, so parallel trials do not oversubscribe the CPU.

The study lives in an Optuna journal file under ``workdir`` (file-locked, safe for several processes): a search that
was interrupted (a killed pod, a retried step) resumes with the trials it already finished and runs only the rest of
the budget (which may be raised on resume). Trials that were running at the interruption are marked failed and
flagged ``interrupted``; they do not count against the budget or the failure limit.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from pipelines.ml.search_space import BUDGET, OBJECTIVE_DIRECTION, OBJECTIVE_METRIC, SPACE, Budget, SearchSpace
from pipelines.steps import progress

STUDY_NAME = "hpo"
JOURNAL_FILE = "study.journal"
STUDY_FILE = "study.json"

_WORKER: dict = {}
"""Per worker process: the data splits (loaded once) and the study's settings."""


def _storage(journal: str):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(journal))


def _pruner(budget: Budget):
    import optuna

    es = budget.early_stopping
    if es.algorithm == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=es.min_trials_required, n_warmup_steps=es.start_step - 1)


def _init_worker(dataset_path: str, journal: str, threads: int, settings: dict) -> None:
    import torch

    from pipelines.ml.trial_worker import load_splits

    torch.set_num_threads(threads)
    _WORKER.update(splits=load_splits(dataset_path), journal=journal, **settings)


def _run_ticket(ticket: int) -> dict:
    """Ask the shared study for one point, train it, report every epoch to the pruner, tell the outcome."""
    import optuna
    from optuna.trial import TrialState

    from pipelines.ml.search_space import optuna_params
    from pipelines.ml.trial_worker import run_trial

    w = _WORKER
    study = optuna.load_study(
        study_name=STUDY_NAME,
        storage=_storage(w["journal"]),
        sampler=optuna.samplers.TPESampler(seed=w["seed"] + ticket),
        pruner=_pruner(w["budget"]),
    )
    trial = study.ask()
    params = optuna_params(trial, w["space"])

    def report(record: dict) -> None:
        trial.report(record["val_loss"], record["epoch"])
        if trial.should_prune():
            raise optuna.TrialPruned(f"epoch {record['epoch']}: val_loss {record['val_loss']:.4f} above the median")

    try:
        result = run_trial(w["splits"], params, w["fixed"], w["device"], on_epoch=report)
    except optuna.TrialPruned:
        study.tell(trial, state=TrialState.PRUNED)
        return {"number": trial.number, "state": "PRUNED", "params": params}
    except Exception as exc:  # noqa: BLE001 - a failed trial is recorded in the study; the failure limit decides whether to stop
        trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
        study.tell(trial, state=TrialState.FAIL)
        return {"number": trial.number, "state": "FAIL", "params": params, "error": f"{type(exc).__name__}: {exc}"}
    trial.set_user_attr("best_epoch", result.best_epoch)
    trial.set_user_attr("epochs_run", result.epochs_run)
    study.tell(trial, result.best_val_loss)
    return {"number": trial.number, "state": "COMPLETE", "params": params, "value": result.best_val_loss}


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def search_local(
    dataset_path: str,
    space: SearchSpace = SPACE,
    budget: Budget = BUDGET,
    max_epochs: int = 20,
    seed: int = 42,
    workdir: str = "hpo",
    out_dir: str | None = None,
    patience: int = 3,
    batch_size: int = 512,
    device: str = "auto",
    echo: Callable[[str], None] = print,
) -> dict:
    """Run (or resume) the search and return the study (see :func:`study_result`); also writes ``study.json`` to
    ``out_dir`` (default: ``workdir``)."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    started = time.perf_counter()
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    journal = str(work / JOURNAL_FILE)
    fixed = {"max_epochs": int(max_epochs), "patience": int(patience), "batch_size": int(batch_size), "seed": int(seed)}
    # What makes trials comparable; the budget's counts may change on resume (as Katib lets them be edited).
    config = {
        "space": space.to_dict(),
        "early_stopping": asdict(budget.early_stopping),
        "fixed": fixed,
        "dataset_sha256": _file_sha256(dataset_path),
    }
    study = optuna.create_study(
        study_name=STUDY_NAME, storage=_storage(journal), direction=OBJECTIVE_DIRECTION, load_if_exists=True
    )
    if "config" not in study.user_attrs:
        study.set_user_attr("config", config)
    elif study.user_attrs["config"] != config:
        raise ValueError(
            f"{journal} holds a study of another search (space, early stopping, fixed settings or dataset "
            f"differ); use another workdir or delete it. Stored: {study.user_attrs['config']}"
        )

    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
        study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
        study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
    finished = _counted(study)
    remaining = budget.max_trials - finished
    if finished:
        echo(f"resuming the study in {journal}: {finished} of {budget.max_trials} trials already finished")

    failed = [
        t.user_attrs.get("error")
        for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
        if not t.user_attrs.get("interrupted")
    ]
    if remaining > 0 and len(failed) <= budget.max_failed_trials:
        workers = min(budget.parallel_trials, remaining)
        threads = max(1, available_cores() // workers)
        echo(
            progress.line(
                "search",
                f"search: {remaining} trial(s), {workers} in parallel, {threads} torch "
                f"thread(s) each, {max_epochs} epochs max, pruning: {budget.early_stopping.algorithm}",
                trials=remaining,
                parallel=workers,
            )
        )
        first_ticket = len(study.get_trials(deepcopy=False))
        settings = {"space": space, "budget": budget, "fixed": fixed, "seed": int(seed), "device": device}
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(dataset_path, journal, threads, settings),
        ) as pool:
            pending = {pool.submit(_run_ticket, first_ticket + i) for i in range(remaining)}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    outcome = future.result()
                    value = f" {OBJECTIVE_METRIC} {outcome['value']:.4f}" if "value" in outcome else ""
                    echo(
                        f"trial {outcome['number']}: {outcome['state']}{value} {outcome['params']}"
                        + (f" ({outcome['error']})" if "error" in outcome else "")
                    )
                    if outcome["state"] == "FAIL":
                        failed.append(outcome["error"])
                if len(failed) > budget.max_failed_trials:
                    for future in pending:
                        future.cancel()
                    break
    if len(failed) > budget.max_failed_trials:
        raise RuntimeError(
            f"search stopped: {len(failed)} trials failed, more than max_failed_trials "
            f"({budget.max_failed_trials}); errors: {failed}"
        )

    result = study_result(optuna.load_study(study_name=STUDY_NAME, storage=_storage(journal)), space, budget, fixed)
    result.update(resumed_trials=finished, wall_s=round(time.perf_counter() - started, 3))
    out = Path(out_dir) if out_dir else work
    out.mkdir(parents=True, exist_ok=True)
    (out / STUDY_FILE).write_text(json.dumps(result, indent=2))
    echo(
        progress.line(
            "best_trial",
            f"best trial {result['best_trial']}: {OBJECTIVE_METRIC} "
            f"{result['best_value']:.4f} {result['best_params']} ({result['n_trials']} trials, "
            f"{result['n_pruned']} pruned, {result['n_failed']} failed)",
            trial=result["best_trial"],
            value=result["best_value"],
        )
    )
    return result


def _counted(study) -> int:
    """Trials that used up the budget: finished ones, not those cut off by an interruption."""
    from optuna.trial import TrialState

    return sum(
        1
        for t in study.get_trials(deepcopy=False)
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
        or (t.state == TrialState.FAIL and not t.user_attrs.get("interrupted"))
    )


def study_result(study, space: SearchSpace, budget: Budget, fixed: dict) -> dict:
    """The engine-independent result shape (shared with the Katib engine): best point, counts, every trial."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if not complete:
        raise RuntimeError(
            f"search finished without a completed trial ({len(trials)} trial(s): "
            f"{sorted({t.state.name for t in trials})})"
        )
    best = study.best_trial
    return {
        "engine": "optuna",
        "objective": {"metric": OBJECTIVE_METRIC, "direction": OBJECTIVE_DIRECTION},
        "best_params": space.coerce(best.params),
        "best_value": float(best.value),
        "best_trial": str(best.number),
        "n_trials": _counted(study),
        "n_complete": len(complete),
        "n_pruned": sum(1 for t in trials if t.state == TrialState.PRUNED),
        "n_failed": sum(1 for t in trials if t.state == TrialState.FAIL and not t.user_attrs.get("interrupted")),
        "space": space.to_dict(),
        "budget": asdict(budget),
        "fixed": fixed,
        "trials": [
            {
                "number": t.number,
                "name": str(t.number),
                "params": space.coerce(t.params) if set(space.names()) <= set(t.params) else dict(t.params),
                "state": "FAIL" if t.state == TrialState.FAIL else t.state.name,
                "value": None if t.value is None else float(t.value),
                "intermediate_values": [
                    {"step": int(s), "value": float(v)} for s, v in sorted(t.intermediate_values.items())
                ],
                "duration_s": t.duration.total_seconds() if t.duration else None,
                **({"error": t.user_attrs["error"]} if "error" in t.user_attrs else {}),
                **({"interrupted": True} if t.user_attrs.get("interrupted") else {}),
            }
            for t in trials
        ],
    }

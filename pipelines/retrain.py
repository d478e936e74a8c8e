"""What the monitor needs to retrain on a cluster: the stable model as the model store records it, and the parameters
of the next training run (the window rolled forward, a seed derived from it, where to publish and serve).

The deploy step stores each version's lineage and reference profile in the model store and appends a promotion
entry when a version becomes stable (:mod:`pipelines.serving.model_store`), so after a retrain and a promotion the
monitor watches the new model and compares its AUC with the new model's own baseline.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DEFAULT_TRAIN_DAYS = 549
"""The training pipeline's default window (2024-07-01 .. 2026-01-01), used when the lineage has no time range."""
DEFAULT_REFERENCE_DAYS = 182
LINEAGE_FILE, PROFILE_FILE = "lineage.json", "reference_profile.json"


@dataclass
class CurrentModel:
    name: str
    version: str
    sha256: str
    lineage: dict
    reference_profile: dict
    model_dir: Path


def load_current(store_uri: str, name: str, workdir: Path | str, fs=None) -> CurrentModel:
    """The stable version of ``name``: its promotion entry, lineage, reference profile and a verified local copy."""
    from pipelines.serving.model_store import ModelStoreError, current_version, fetch_version, read_metadata

    entry = current_version(store_uri, name, fs)
    if entry is None:
        raise ModelStoreError(
            f"no promoted version of {name} in the model store {store_uri}: deploy one with the "
            "training pipeline first (its deploy step records each promotion there)"
        )
    version = entry["version"]
    lineage = json.loads(read_metadata(store_uri, name, version, LINEAGE_FILE, fs))
    profile = json.loads(read_metadata(store_uri, name, version, PROFILE_FILE, fs))
    model_dir = fetch_version(store_uri, name, version, Path(workdir) / version, entry["sha256"], fs)
    return CurrentModel(name, version, entry["sha256"], lineage, profile, model_dir)


def baseline_auc(lineage: dict, override: float = 0.0) -> float | None:
    """An explicit ``override`` (> 0), else the AUC the lineage recorded at training (None: no AUC check)."""
    if override and override > 0:
        return float(override)
    auc = (lineage.get("metrics") or {}).get("auc")
    return float(auc) if isinstance(auc, (int, float)) else None


def _day(value: str, field: str) -> datetime:
    """Midnight UTC of a date or timestamp (``2026-01-01``, ``2026-01-01T05:00:00Z``)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{field} {value!r} is not an ISO date or timestamp") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return datetime(moment.year, moment.month, moment.day)


def _span_days(window, field: str) -> int | None:
    """Whole days of a ``[start, end]`` pair from the lineage, or None when it is absent."""
    if not window:
        return None
    if not (isinstance(window, (list, tuple)) and len(window) == 2):
        raise ValueError(f"lineage {field} must be [start, end], got {window!r}")
    days = (_day(window[1], f"lineage {field} end") - _day(window[0], f"lineage {field} start")).days
    if days < 1:
        raise ValueError(f"lineage {field} {window!r} is empty or reversed")
    return days


def seed_for(model_name: str, train_start: str, train_end: str) -> int:
    """A training seed derived from the window: a rerun of the same window trains the same way."""
    digest = hashlib.sha256(f"{model_name}|{train_start}|{train_end}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 2**31


def retrain_parameters(
    lineage: dict,
    window_end: str,
    *,
    model_name: str,
    model_store_uri: str,
    feature_repo: str,
    serving_url: str = "",
    train_days: int = DEFAULT_TRAIN_DAYS,
    reference_days: int = DEFAULT_REFERENCE_DAYS,
) -> tuple[dict, list[str]]:
    """(training pipeline parameters, notes on where each window length came from).

    ``train_end`` is the monitor window's end, floored to the day (so a rerun on the same day asks for the same run);
    ``train_start`` is the current model's training span before it (else ``train_days``); the reference window is
    the same length as the current model's (else ``reference_days``) and ends where training starts.
    """
    if train_days < 1 or reference_days < 1:
        raise ValueError(f"train_days and reference_days must be at least 1, got {train_days} and {reference_days}")
    if not model_store_uri:
        raise ValueError(
            "model_store_uri is empty: the retraining run publishes its model there (the stack's models bucket)"
        )
    notes = []
    span = _span_days(lineage.get("time_range"), "time_range")
    notes.append(
        f"training span {span} days from the current model's lineage"
        if span
        else f"training span {train_days} days (train_days; the lineage has no time_range)"
    )
    reference = _span_days((lineage.get("parameters") or {}).get("reference_window"), "parameters.reference_window")
    notes.append(
        f"reference window {reference} days from the lineage"
        if reference
        else f"reference window {reference_days} days (reference_days)"
    )
    end = _day(window_end, "window_end")
    start = end - timedelta(days=span or train_days)
    ref_start = start - timedelta(days=reference or reference_days)
    fmt = "%Y-%m-%d"
    params: dict[str, Any] = {
        "train_start": start.strftime(fmt),
        "train_end": end.strftime(fmt),
        "reference_start": ref_start.strftime(fmt),
        "reference_end": start.strftime(fmt),
        "model_name": model_name,
        "model_store_uri": model_store_uri,
        "feature_repo": feature_repo,
    }
    params["seed"] = seed_for(model_name, params["train_start"], params["train_end"])
    if serving_url:
        params["serving_url"] = serving_url
    return params, notes


def store_for_monitoring(
    store_uri: str, name: str, version: str, lineage: dict, reference_profile: Path | str, fs=None
) -> None:
    """The deploy step, before rolling out on a cluster: keep the version's lineage (training window, metrics) and
    reference profile in the model store, where the monitor reads them once the version is stable."""
    from pipelines.serving.model_store import store_metadata

    store_metadata(
        store_uri,
        name,
        version,
        {
            LINEAGE_FILE: json.dumps({**lineage, "version": version}, indent=2, sort_keys=True, default=str).encode(),
            PROFILE_FILE: Path(reference_profile).read_bytes(),
        },
        fs,
    )


def record_stable(store_uri: str, name: str, outcome: dict, sha256: str, run_id: str = "", fs=None) -> dict:
    """The deploy step, after a promotion (or a rerun that found the version already stable): record it."""
    from pipelines.serving.model_store import record_promotion

    return record_promotion(store_uri, name, outcome["version"], sha256, run_id, fs)

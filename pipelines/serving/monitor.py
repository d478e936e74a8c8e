"""Drift and degradation checks that decide whether to retrain.

Compares recent inputs (served requests from the server's request log, or a new data window from Feast) with the
deployed version's reference profile (the load step's profile of the reference window, stored with the version):
PSI or KS per feature. When labels are available (a data window), it also measures the deployed model's AUC on them
against the AUC recorded in its lineage. Past a threshold the decision is ``retrain``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

METHODS = ("psi", "ks")
RETRAIN, OK, INSUFFICIENT = "retrain", "ok", "insufficient-data"


@dataclass(frozen=True)
class MonitorPolicy:
    """Thresholds (pipeline parameters of the monitor step and options of ``mlops pipeline monitor``)."""

    method: str = "psi"
    max_drift: float = 0.25
    """PSI above 0.25 (or a KS distance above this value) on any feature means major drift."""
    max_auc_drop: float = 0.05
    min_rows: int = 200
    """Fewer recent rows than this decide nothing (``insufficient-data``)."""

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        for name in ("max_drift", "max_auc_drop"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if self.min_rows < 1:
            raise ValueError(f"min_rows must be at least 1, got {self.min_rows}")


DEFAULT_POLICY = MonitorPolicy()
"""The thresholds every entry point defaults to: ``mlops pipeline monitor``'s options and the monitoring pipeline's
parameters (the monitor step itself takes them from the pipeline and has no defaults of its own)."""


@dataclass
class MonitorReport:
    decision: str
    rows: int
    source: str
    drift: dict[str, float] = field(default_factory=dict)
    drifted: list[str] = field(default_factory=list)
    auc: float | None = None
    baseline_auc: float | None = None
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_markdown(self, policy: MonitorPolicy) -> str:
        lines = [f"# Model monitor: {self.decision.upper()}", "", f"- source: {self.source}", f"- rows: {self.rows}"]
        if self.auc is not None:
            lines.append(f"- AUC on labelled window: {self.auc:.4f} (at training: {self.baseline_auc})")
        heading = f"## Drift ({policy.method.upper()}, limit {policy.max_drift})"
        lines += [
            "",
            *(f"- {r}" for r in self.reasons),
            "",
            heading,
            "",
            "| feature | value | status |",
            "|---|---|---|",
        ]
        lines += [
            f"| {k} | {v:.4f} | {'drift' if k in self.drifted else 'ok'} |" for k, v in sorted(self.drift.items())
        ]
        return "\n".join(lines) + "\n"


def served_inputs(request_log: Path | str, model: str, version: str | None = None, since: float = 0.0):
    """Inputs of successful requests in the request log (one row per instance), oldest first: the rotated backups
    (``LOG.N`` oldest ... ``LOG.1``) and then the current file."""
    import pandas as pd

    path = Path(request_log)
    backups = (
        sorted(
            (p for p in path.parent.glob(f"{path.name}.*") if p.suffix[1:].isdigit()),
            key=lambda p: int(p.suffix[1:]),
            reverse=True,
        )
        if path.parent.is_dir()
        else []
    )
    frames = []
    for part in [*backups, path] if path.exists() else backups:
        with open(part) as fh:
            for line in fh:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a crash; the rest of the log is still good
                if (
                    entry.get("model") != model
                    or entry.get("status") != 200
                    or entry.get("ts", 0) < since
                    or (version and entry.get("version") != version)
                    or not entry.get("inputs")
                ):
                    continue
                frames.append(pd.DataFrame(entry["inputs"]))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def ks_distances(reference: dict, frame) -> dict[str, float]:
    """KS distance per feature on the reference profile's grid: max CDF gap at the reference decile edges for
    numbers, total variation distance for categories (the profile keeps shares, not raw samples)."""
    import numpy as np

    out = {}
    for name, ref in reference["features"].items():
        if name not in frame:
            continue
        col = frame[name].dropna()
        if not len(col):
            continue
        if ref["kind"] == "numeric":
            edges = np.asarray(ref["edges"][1:-1], dtype="float64")
            ref_cdf = np.cumsum(ref["shares"])[:-1]
            values = col.to_numpy(dtype="float64")
            cur_cdf = np.array([(values < e).mean() for e in edges]) if len(edges) else np.zeros(0)
            out[name] = float(np.max(np.abs(ref_cdf - cur_cdf))) if len(edges) else 0.0
        else:
            shares = col.astype(str).value_counts(normalize=True)
            cats = set(ref["shares"]) | set(shares.index)
            out[name] = 0.5 * sum(abs(ref["shares"].get(c, 0.0) - float(shares.get(c, 0.0))) for c in cats)
    return out


def label_auc(model_dir: Path | str, frame) -> float:
    """AUC of the model on a labelled frame."""
    from pipelines.ml.data import labels
    from pipelines.ml.metrics import roc_auc
    from pipelines.ml.model import predict_proba
    from pipelines.steps.train import load_model

    model, pre = load_model(str(model_dir))
    return float(roc_auc(labels(frame), predict_proba(model, pre.transform(frame))))


def check(
    reference: dict,
    frame,
    policy: MonitorPolicy,
    source: str,
    model_dir: Path | str | None = None,
    baseline_auc: float | None = None,
) -> MonitorReport:
    """Drift of ``frame`` against ``reference``, plus AUC degradation when ``frame`` carries labels."""
    from pipelines.features.schema import LABEL
    from pipelines.ml.profile import drift

    report = MonitorReport(OK, len(frame), source)
    if len(frame) < policy.min_rows:
        report.decision = INSUFFICIENT
        report.reasons.append(f"{len(frame)} rows, at least {policy.min_rows} needed to judge drift")
        return report
    report.drift = drift(reference, frame) if policy.method == "psi" else ks_distances(reference, frame)
    report.drifted = sorted(k for k, v in report.drift.items() if v > policy.max_drift)
    for name in report.drifted:
        report.reasons.append(f"{name}: {policy.method.upper()} {report.drift[name]:.3f} > {policy.max_drift}")
    if model_dir is not None and LABEL in frame and frame[LABEL].notna().all() and frame[LABEL].nunique() == 2:
        report.auc, report.baseline_auc = label_auc(model_dir, frame), baseline_auc
        if baseline_auc is not None and baseline_auc - report.auc > policy.max_auc_drop:
            report.reasons.append(
                f"AUC {report.auc:.4f} is {baseline_auc - report.auc:.4f} below the "
                f"{baseline_auc:.4f} measured at training (limit {policy.max_auc_drop})"
            )
    if report.reasons:
        report.decision = RETRAIN
    else:
        report.reasons.append("no feature drifted past the limit" + ("" if report.auc is None else " and the AUC held"))
    return report


def window_frame(feature_repo: Path | str, start: str, end: str):
    """A labelled, point-in-time window of applications from the Feast store."""
    from pipelines.features.store import LocalFeatureStore

    store = LocalFeatureStore(feature_repo)
    entities = store.entity_rows(start, end)
    if entities.empty:
        return entities
    return store.historical(entities).frame


def check_deployed(
    registry,
    model_name: str,
    policy: MonitorPolicy,
    request_log: Path | str | None = None,
    since: float = 0.0,
    feature_repo: Path | str | None = None,
    window: tuple[str, str] | None = None,
) -> tuple[str, MonitorReport]:
    """Check the stable version of ``model_name``: on a labelled Feast window when ``window`` is given, else on the
    served requests in ``request_log`` since ``since``. Returns (version, report)."""
    state = registry.state(model_name)
    if state.stable is None:
        raise ValueError(f"{model_name} has no stable version to monitor; deploy one first")
    mv = registry.get(model_name, state.stable)
    profile_path = registry.file(model_name, mv.version, "reference_profile.json")
    if not profile_path.exists():
        raise ValueError(f"{model_name} {mv.version} has no reference profile stored with it ({profile_path})")
    reference = json.loads(profile_path.read_text())
    if window is not None:
        if feature_repo is None:
            raise ValueError("a data window needs the feature repository")
        frame = window_frame(feature_repo, *window)
        return mv.version, check(
            reference,
            frame,
            policy,
            f"feature window {window[0]} .. {window[1]}",
            mv.artifact,
            (mv.lineage.get("metrics") or {}).get("auc"),
        )
    if request_log is None:
        raise ValueError("give the serving request log, or a data window")
    frame = served_inputs(request_log, model_name, mv.version, since)
    return mv.version, check(reference, frame, policy, f"served requests in {request_log}")

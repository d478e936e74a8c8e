"""Group fairness of credit decisions: per-group outcome counts, the policy's metrics with confidence bounds, and the
deterministic per-group decision thresholds that the mitigation step fits and serving applies.

Conventions (the same in policies/fairness.yaml and docs/pipelines.md): the model scores p(default); an application
is **declined** when p(default) >= its group's threshold and **approved** otherwise. Approval is the favourable
outcome, so the "selection rate" of the four-fifths rule is the approval rate. Numpy only: this module travels inside
the KFP components and is imported by the model server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

THRESHOLDS_FILE = "decision_thresholds.json"
"""Per-group decision thresholds inside a model directory, so they travel with the version and are in its sha256."""
DEFAULT_THRESHOLD = 0.5
"""Decline when p(default) >= 0.5: the rule of a model without group thresholds (an unmitigated model)."""
BOUND_DRAWS = 4_000
BOUND_SEED = 20_240_701
"""Fixed, so a gate decision can be reproduced exactly from the evaluation record."""

METRICS = ("demographic_parity", "equalized_odds")
KINDS = ("difference", "ratio")
COUNT_KEYS = ("rows", "repaid", "defaulted", "approved_repaid", "approved_defaulted")


def group_keys(columns: dict[str, np.ndarray], attributes: tuple[str, ...] | list[str], rows: int) -> np.ndarray:
    """One key per row, ``age_band=18-25|gender=female``, over ``attributes`` (all rows share ``""`` without any)."""
    missing = [a for a in attributes if a not in columns]
    if missing:
        raise ValueError(f"the decision needs the sensitive attribute(s) {', '.join(missing)} for every row")
    keys = np.full(rows, "", dtype=object)
    for i, name in enumerate(attributes):
        values = np.asarray(columns[name]).astype(str)
        keys = keys + ("|" if i else "") + f"{name}=" + values.astype(object)
    return keys


def decide(probabilities: np.ndarray, groups: np.ndarray, thresholds: dict[str, float]) -> np.ndarray:
    """1.0 = decline (p(default) >= the row's group threshold), 0.0 = approve. A group without a threshold is
    refused: deciding it by some other rule would be an untested policy."""
    probabilities, groups = np.asarray(probabilities, dtype="float64"), np.asarray(groups, dtype=object)
    unknown = sorted(set(groups.tolist()) - set(thresholds))
    if unknown:
        raise ValueError(
            f"no decision threshold for group(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(map(repr, sorted(thresholds)))}"
        )
    limit = np.array([thresholds[g] for g in groups.tolist()], dtype="float64")
    return (probabilities >= limit).astype("float64")


@dataclass(frozen=True)
class DecisionThresholds:
    """How a model version turns p(default) into decline/approve: one threshold per group of ``attributes``."""

    attributes: tuple[str, ...] = ()
    thresholds: dict[str, float] = field(default_factory=lambda: {"": DEFAULT_THRESHOLD})
    details: dict = field(default_factory=dict)

    def decide(self, probabilities: np.ndarray, columns: dict[str, np.ndarray]) -> np.ndarray:
        """Decisions for rows whose sensitive attributes are ``columns`` (name -> values)."""
        return decide(probabilities, group_keys(columns, self.attributes, len(probabilities)), self.thresholds)

    def to_json(self) -> str:
        return json.dumps(
            {"attributes": list(self.attributes), "thresholds": self.thresholds, **self.details}, indent=2
        )


def load_thresholds(model_dir: str | Path) -> DecisionThresholds:
    """The model's group thresholds, or the single 0.5 rule when the model has none (not mitigated)."""
    path = Path(model_dir) / THRESHOLDS_FILE
    if not path.exists():
        return DecisionThresholds()
    raw = json.loads(path.read_text())
    thresholds = raw.get("thresholds")
    if (
        not isinstance(raw.get("attributes"), list)
        or not isinstance(thresholds, dict)
        or not thresholds
        or not all(isinstance(v, (int, float)) and 0.0 <= v <= 1.0 + 1e-9 for v in thresholds.values())
    ):
        raise ValueError(f"{path}: expected {{'attributes': [names], 'thresholds': {{group: number in [0, 1]}}}}")
    details = {k: v for k, v in raw.items() if k not in ("attributes", "thresholds")}
    return DecisionThresholds(tuple(raw["attributes"]), {k: float(v) for k, v in thresholds.items()}, details)


def outcome_counts(defaulted: np.ndarray, declined: np.ndarray, groups: np.ndarray) -> dict[str, dict[str, int]]:
    """Per group: rows, repaid/defaulted rows, and approvals among each. Sufficient for every policy metric and its
    confidence bound, so the evaluation record alone lets the gate (or an auditor) recompute the decision."""
    bad, approved, groups = np.asarray(defaulted) > 0.5, np.asarray(declined) < 0.5, np.asarray(groups).astype(str)
    out = {}
    for g in np.unique(groups):
        m = groups == g
        out[str(g)] = {
            "rows": int(m.sum()),
            "repaid": int((m & ~bad).sum()),
            "defaulted": int((m & bad).sum()),
            "approved_repaid": int((m & ~bad & approved).sum()),
            "approved_defaulted": int((m & bad & approved).sum()),
        }
    return out


def _metrics(rows, repaid, defaulted, approval_repaid, approval_defaulted) -> dict[str, np.ndarray]:
    """Metric values over the last axis (groups); inputs broadcast, so one call handles every bootstrap draw."""
    with np.errstate(divide="ignore", invalid="ignore"):
        approval = (repaid * approval_repaid + defaulted * approval_defaulted) / rows

        def gap(rate):
            return rate.max(axis=-1) - rate.min(axis=-1)

        def ratio(rate):
            top = rate.max(axis=-1)
            return np.where(top > 0, rate.min(axis=-1) / np.where(top > 0, top, 1.0), np.nan)

        return {
            "demographic_parity_difference": gap(approval),
            "demographic_parity_ratio": ratio(approval),
            "equalized_odds_difference": np.maximum(gap(approval_repaid), gap(approval_defaulted)),
            "equalized_odds_ratio": np.minimum(ratio(approval_repaid), ratio(approval_defaulted)),
        }


def point_metrics(counts: dict[str, dict[str, int]]) -> dict[str, float]:
    """Demographic parity and equalized odds, each as a difference and a ratio, on approval (the favourable outcome).

    The same definitions as fairlearn.metrics (``*_difference``, ``*_ratio``) with y_true = repaid, y_pred = approved:
    equalized odds compares approval among repaid (TPR) and among defaulted (FPR), worst case of the two. NaN when a
    group lacks repaid or defaulted rows (the metric cannot be judged, so a policy check on it fails).
    """
    if not counts:
        return {f"{m}_{k}": float("nan") for m in METRICS for k in KINDS}
    c = {k: np.array([v[k] for v in counts.values()], dtype="float64") for k in COUNT_KEYS}
    with np.errstate(divide="ignore", invalid="ignore"):
        values = _metrics(
            c["rows"],
            c["repaid"],
            c["defaulted"],
            c["approved_repaid"] / c["repaid"],
            c["approved_defaulted"] / c["defaulted"],
        )
    return {k: float(v) for k, v in values.items()}


def confidence_bounds(
    counts: dict[str, dict[str, int]], level: float, draws: int = BOUND_DRAWS, seed: int = BOUND_SEED
) -> dict[str, float]:
    """The conservative one-sided bound of each metric at ``level``: upper for differences, lower for ratios.

    Approval rates among each group's repaid and defaulted rows are drawn from their Jeffreys posteriors
    Beta(approved + 1/2, not approved + 1/2) (a parametric bootstrap stratified by group and outcome, with the
    group's repaid/defaulted mix fixed), the metric is computed per draw, and the bound is the draws' quantile.
    Unlike resampling rows, this stays honest for a small or all-or-nothing group: 12 of 12 approved is not
    certainty. Seeded, so the same counts always give the same bound.
    """
    if not counts or any(v["repaid"] == 0 or v["defaulted"] == 0 for v in counts.values()):
        return {f"{m}_{k}": float("nan") for m in METRICS for k in KINDS}
    c = {k: np.array([v[k] for v in counts.values()], dtype="float64") for k in COUNT_KEYS}
    rng = np.random.default_rng(seed)
    size = (draws, len(counts))
    approval_repaid = rng.beta(c["approved_repaid"] + 0.5, c["repaid"] - c["approved_repaid"] + 0.5, size)
    approval_defaulted = rng.beta(c["approved_defaulted"] + 0.5, c["defaulted"] - c["approved_defaulted"] + 0.5, size)
    drawn = _metrics(c["rows"], c["repaid"], c["defaulted"], approval_repaid, approval_defaulted)
    return {
        name: float(np.quantile(values, level if name.endswith("difference") else 1.0 - level))
        for name, values in drawn.items()
    }

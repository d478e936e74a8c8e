"""Fairness mitigation: per-group decision thresholds, fitted with fairlearn's ThresholdOptimizer on validation data.

ThresholdOptimizer picks, per group, a *randomised* rule (with probability p0 one threshold, else another) that meets
the constraint while keeping as much accuracy as possible. A credit decision must not depend on a coin flip, so each
group gets the one deterministic threshold that declines the same share of that group's validation rows as the
randomised rule does in expectation (the score quantile at that share, midway between neighbouring scores). For
demographic parity this keeps the constrained quantity, the per-group decline rate, exactly (up to ties). The test
split is never touched: evaluation judges the thresholds on data they were not fitted on.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

CONSTRAINTS = ("demographic_parity", "equalized_odds")
OBJECTIVE = "accuracy_score"
MITIGATION_FILE = "mitigation.json"


def mitigate(
    dataset_path: str,
    model_dir: str,
    out_dir: str,
    constraint: str = "demographic_parity",
    attributes: tuple[str, ...] | None = None,
) -> dict:
    """Copy the model to ``out_dir`` and add its per-group thresholds; return a summary of the fit."""
    from pipelines.features.schema import SENSITIVE_ATTRIBUTES
    from pipelines.ml.data import labels, sensitive_columns, split_of
    from pipelines.ml.fairness import DEFAULT_THRESHOLD, THRESHOLDS_FILE, DecisionThresholds, group_keys
    from pipelines.ml.model import predict_proba
    from pipelines.steps.train import load_model

    if constraint not in CONSTRAINTS:
        raise ValueError(f"constraint must be one of {', '.join(CONSTRAINTS)}, got {constraint!r}")
    attributes = tuple(attributes or SENSITIVE_ATTRIBUTES)
    frame = pd.read_parquet(dataset_path)
    val = frame[split_of(frame) == "val"].reset_index(drop=True)
    if val.empty:
        raise ValueError(f"{dataset_path}: the validation split is empty; thresholds cannot be fitted")
    model, pre = load_model(model_dir)
    scores = predict_proba(model, pre.transform(val)).astype("float64")
    groups = group_keys(sensitive_columns(val, attributes), attributes, len(val))
    y = labels(val).astype(int)
    unfitted = _unfittable_groups(groups, y, attributes)
    fit = ~np.isin(groups, list(unfitted))
    if not fit.any():
        raise ValueError(f"no validation group has both outcomes; thresholds cannot be fitted: {unfitted}")
    expected_decline = _randomised_decline_rates(scores[fit], y[fit], groups[fit], constraint)
    thresholds = {g: _matching_threshold(scores[groups == g], rate) for g, rate in expected_decline.items()}
    thresholds.update({g: DEFAULT_THRESHOLD for g in unfitted})
    decided = np.array([scores[i] >= thresholds[g] for i, g in enumerate(groups)])
    summary = {
        "method": f"fairlearn ThresholdOptimizer(constraints={constraint!r}, objective={OBJECTIVE!r}, "
        "prefit=True, predict_method='predict_proba') on the validation split; one deterministic "
        "threshold per group matching the randomised rule's expected decline rate",
        "constraint": constraint,
        "fit_split": "val",
        "fit_rows": int(fit.sum()),
        "groups": {
            g: {
                "rows": int((groups == g).sum()),
                "threshold": thresholds[g],
                "randomised_decline_rate": expected_decline[g],
                "decline_rate": float(decided[groups == g].mean()),
            }
            for g in sorted(expected_decline)
        },
        "unmitigated_groups": unfitted,
    }
    shutil.copytree(model_dir, out_dir, dirs_exist_ok=True)
    result = DecisionThresholds(
        attributes, thresholds, {"method": summary["method"], "constraint": constraint, "unmitigated_groups": unfitted}
    )
    (Path(out_dir) / THRESHOLDS_FILE).write_text(result.to_json())
    (Path(out_dir) / MITIGATION_FILE).write_text(json.dumps(summary, indent=2))
    return summary


def _unfittable_groups(groups: np.ndarray, y: np.ndarray, attributes: tuple[str, ...]) -> dict[str, str]:
    """Groups fairlearn cannot fit (one outcome only, or absent from the validation split, though the schema allows
    them), with why. They keep the plain 0.5 rule, are named in the thresholds file, and the gate still judges them:
    on data this thin it will usually reject for group size."""
    from itertools import product

    from pipelines.features.schema import service_fields

    allowed = {f.name: [str(v) for v in f.allowed] for f in service_fields() if f.name in attributes}
    every = [
        "|".join(f"{a}={v}" for a, v in zip(attributes, combo))
        for combo in product(*(allowed.get(a, []) for a in attributes))
    ]
    out = {g: "absent from the validation split" for g in every if g not in set(groups.tolist())}
    for g in np.unique(groups):
        if len(np.unique(y[groups == g])) < 2:
            out[str(g)] = f"only one outcome in {int((groups == g).sum())} validation rows"
    return dict(sorted(out.items()))


def _randomised_decline_rates(
    scores: np.ndarray, y: np.ndarray, groups: np.ndarray, constraint: str
) -> dict[str, float]:
    """Each group's expected decline rate under ThresholdOptimizer's randomised rule, fitted on these rows."""
    from fairlearn.postprocessing import ThresholdOptimizer
    from sklearn.base import BaseEstimator, ClassifierMixin

    class FixedScores(ClassifierMixin, BaseEstimator):
        """The already fitted model as fairlearn sees it: ``predict_proba`` of the row indices it is given, so fairlearn
        neither re-runs the torch model nor re-validates its preprocessing."""

        def __init__(self, scores=None):
            self.scores = scores

        def fit(self, x, y):  # prefit=True: fairlearn never calls it; sklearn's estimator contract wants it
            self.classes_ = np.array([0, 1])
            return self

        def predict_proba(self, x) -> np.ndarray:
            p = self.scores[np.asarray(x, dtype="int64").ravel()]
            return np.column_stack([1 - p, p])

    index = np.arange(len(scores)).reshape(-1, 1)
    optimizer = ThresholdOptimizer(
        estimator=FixedScores(scores).fit(index, y),
        constraints=constraint,
        objective=OBJECTIVE,
        prefit=True,
        predict_method="predict_proba",
    )
    optimizer.fit(index, y, sensitive_features=groups)
    decline_probability = optimizer._pmf_predict(index, sensitive_features=groups)[:, 1]
    return {str(g): float(decline_probability[groups == g].mean()) for g in np.unique(groups)}


def _matching_threshold(scores: np.ndarray, decline_rate: float) -> float:
    """The threshold declining ``round(rate * n)`` of ``scores`` (decline when score >= threshold)."""
    ordered = np.sort(scores)[::-1]
    k = round(decline_rate * len(ordered))
    if k <= 0:
        return float(min(1.0, np.nextafter(ordered[0], np.inf)))
    if k >= len(ordered):
        return float(ordered[-1])
    return float((ordered[k - 1] + ordered[k]) / 2)

"""Evaluation metrics in numpy: discrimination, calibration, robustness and permutation importance (group fairness:
:mod:`pipelines.ml.fairness`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve via the rank statistic (ties get their average rank)."""
    y = np.asarray(y).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    s = np.asarray(score)[order]
    ranks = np.empty(len(s), dtype="float64")
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def expected_calibration_error(y: np.ndarray, prob: np.ndarray, bins: int = 10) -> float:
    """Weighted mean |observed rate - mean predicted probability| over equal-width probability bins."""
    y, prob = np.asarray(y, dtype="float64"), np.asarray(prob, dtype="float64")
    which = np.minimum((prob * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(y[mask].mean() - prob[mask].mean())
    return float(ece)


def brier(y: np.ndarray, prob: np.ndarray) -> float:
    return float(np.mean((np.asarray(prob) - np.asarray(y)) ** 2))


def robustness_auc(
    predict: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    numeric_columns: int,
    noise: float = 0.1,
    seed: int = 0,
) -> float:
    """AUC when Gaussian noise (``noise`` standard deviations) perturbs every standardized numeric input."""
    rng = np.random.default_rng(seed)
    xp = x.copy()
    xp[:, :numeric_columns] += rng.normal(0, noise, size=(len(x), numeric_columns)).astype(x.dtype)
    return roc_auc(y, predict(xp))


def permutation_importance(
    predict: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    column_groups: dict[str, list[int]],
    repeats: int = 3,
    seed: int = 0,
) -> dict[str, float]:
    """Mean AUC drop when one input (all of its one-hot columns together) is shuffled across rows."""
    rng = np.random.default_rng(seed)
    base = roc_auc(y, predict(x))
    out = {}
    for name, cols in column_groups.items():
        drops = []
        for _ in range(repeats):
            xp = x.copy()
            xp[:, cols] = x[rng.permutation(len(x))][:, cols]
            drops.append(base - roc_auc(y, predict(xp)))
        out[name] = float(np.mean(drops))
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))

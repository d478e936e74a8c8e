"""Evaluation metrics in numpy: discrimination, calibration, group fairness, robustness and permutation importance."""

from __future__ import annotations

from typing import Callable

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
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def accuracy(y: np.ndarray, prob: np.ndarray, threshold: float = 0.5) -> float:
    return float(np.mean((prob >= threshold) == (np.asarray(y) > 0.5)))


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


def demographic_parity_difference(pred: np.ndarray, group: np.ndarray) -> float:
    """Largest gap in positive-decision rate between any two groups (0 = parity)."""
    rates = [pred[group == g].mean() for g in np.unique(group)]
    return float(max(rates) - min(rates)) if rates else 0.0


def equalized_odds_difference(y: np.ndarray, pred: np.ndarray, group: np.ndarray) -> float:
    """Largest gap between groups in true-positive rate or false-positive rate, whichever is larger."""
    y = np.asarray(y) > 0.5
    tprs, fprs = [], []
    for g in np.unique(group):
        m = group == g
        if (m & y).any():
            tprs.append(pred[m & y].mean())
        if (m & ~y).any():
            fprs.append(pred[m & ~y].mean())
    gap = lambda r: max(r) - min(r) if r else 0.0  # noqa: E731
    return float(max(gap(tprs), gap(fprs)))


def group_rates(y: np.ndarray, pred: np.ndarray, group: np.ndarray) -> dict[str, dict[str, float]]:
    y = np.asarray(y) > 0.5
    out = {}
    for g in np.unique(group):
        m = group == g
        out[str(g)] = {"rows": int(m.sum()), "positive_rate": float(pred[m].mean()),
                       "tpr": float(pred[m & y].mean()) if (m & y).any() else float("nan"),
                       "fpr": float(pred[m & ~y].mean()) if (m & ~y).any() else float("nan")}
    return out


def robustness_auc(predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray, y: np.ndarray, numeric_columns: int,
                   noise: float = 0.1, seed: int = 0) -> float:
    """AUC when Gaussian noise (``noise`` standard deviations) perturbs every standardized numeric input."""
    rng = np.random.default_rng(seed)
    xp = x.copy()
    xp[:, :numeric_columns] += rng.normal(0, noise, size=(len(x), numeric_columns)).astype(x.dtype)
    return roc_auc(y, predict(xp))


def permutation_importance(predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray, y: np.ndarray,
                           column_groups: dict[str, list[int]], repeats: int = 3, seed: int = 0) -> dict[str, float]:
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

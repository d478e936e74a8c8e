"""Data profiles and drift: a reference profile of a window, and population stability index (PSI) against it."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipelines.features.schema import LABEL, training_fields

BINS = 10


def build_profile(frame: pd.DataFrame) -> dict:
    """Per-feature distribution summary: decile edges and shares for numbers, shares for categories; label rate."""
    features: dict[str, dict[str, Any]] = {}
    for f in training_fields():
        if f.name == LABEL or f.name not in frame:
            continue
        col = frame[f.name].dropna()
        if f.dtype == "string" or f.allowed:
            shares = col.astype(str).value_counts(normalize=True)
            features[f.name] = {"kind": "categorical", "shares": {str(k): float(v) for k, v in shares.items()}}
        else:
            edges = np.unique(np.quantile(col.to_numpy(dtype="float64"), np.linspace(0, 1, BINS + 1)))
            features[f.name] = {
                "kind": "numeric",
                "edges": edges.tolist(),
                "shares": _shares(col, edges).tolist(),
                "mean": float(col.mean()),
                "std": float(col.std()),
            }
    return {
        "rows": len(frame),
        "label_rate": float(frame[LABEL].mean()) if LABEL in frame else None,
        "features": features,
    }


def _shares(values: pd.Series, edges: list | np.ndarray) -> np.ndarray:
    inner = np.asarray(edges)[1:-1]
    counts = np.bincount(
        np.searchsorted(inner, values.to_numpy(dtype="float64"), side="right"), minlength=len(inner) + 1
    )
    return counts / max(counts.sum(), 1)


def psi(expected: npt.ArrayLike, actual: npt.ArrayLike, eps: float = 1e-4) -> float:
    e = np.clip(np.asarray(expected, dtype="float64"), eps, None)
    a = np.clip(np.asarray(actual, dtype="float64"), eps, None)
    return float(np.sum((a - e) * np.log(a / e)))


def drift(reference: dict, frame: pd.DataFrame) -> dict[str, float]:
    """PSI per feature of ``frame`` against the ``reference`` profile (0.1 = moderate, 0.25 = major drift)."""
    out = {}
    for name, ref in reference["features"].items():
        if name not in frame:
            continue
        col = frame[name].dropna()
        if ref["kind"] == "numeric":
            actual = _shares(col, ref["edges"])
            out[name] = psi(ref["shares"], actual)
        else:
            cats = sorted(set(ref["shares"]) | set(col.astype(str).unique()))
            actual_shares = col.astype(str).value_counts(normalize=True)
            out[name] = psi([ref["shares"].get(c, 0.0) for c in cats], [float(actual_shares.get(c, 0.0)) for c in cats])
    return out

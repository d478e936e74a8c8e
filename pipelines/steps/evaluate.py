"""Evaluate a model on the held-out split: discrimination, calibration, fairness, robustness, explainability."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd


def evaluate_model(
    dataset_path: str, model_dir: str, report_path: str, evaluation_path: str, noise: float = 0.1, seed: int = 0
) -> dict:
    """Write the Markdown report and the metrics as JSON, and return the metrics.

    Decisions (and so every fairness metric) follow the model's own rule: its per-group thresholds when the
    mitigation step added them, else decline when p(default) >= 0.5. Fairness is reported per sensitive attribute
    with the per-group outcome counts the gate needs for its confidence bounds; the top-level fairness values are
    the worst over the attributes.
    """
    from pipelines.features.schema import SENSITIVE_ATTRIBUTES
    from pipelines.ml import fairness as f
    from pipelines.ml import metrics as m
    from pipelines.ml.data import labels, sensitive_columns, split_of
    from pipelines.ml.model import predict_proba
    from pipelines.steps.train import load_model

    frame = pd.read_parquet(dataset_path)
    test = frame[split_of(frame) == "test"].reset_index(drop=True)
    if test.empty:
        raise ValueError(f"{dataset_path}: the held-out split is empty")
    model, pre = load_model(model_dir)
    rule = f.load_thresholds(model_dir)
    x, y, sensitive = pre.transform(test), labels(test), sensitive_columns(test, SENSITIVE_ATTRIBUTES)
    predict = lambda xs: predict_proba(model, xs)
    prob = predict(x)
    decision = rule.decide(prob, sensitive)
    fairness = {name: _fairness(f, y, decision, values) for name, values in sensitive.items()}
    auc = m.roc_auc(y, prob)
    perturbed = m.robustness_auc(predict, x, y, numeric_columns=len(pre.numeric), noise=noise, seed=seed)
    columns = {name: [i] for i, name in enumerate(pre.numeric)}
    offset = len(pre.numeric)
    for cat, values in pre.categorical.items():
        columns[cat] = list(range(offset, offset + len(values)))
        offset += len(values)
    result = {
        "test_rows": len(test),
        "label_rate": float(y.mean()),
        "auc": auc,
        "accuracy": float(np.mean(decision == (y > 0.5))),
        "decline_rate": float(decision.mean()),
        "ece": m.expected_calibration_error(y, prob),
        "brier": m.brier(y, prob),
        **{name: _worst(name, [a[name] for a in fairness.values()]) for name in FAIRNESS_SCALARS},
        "robust_auc": perturbed,
        "robustness_drop": auc - perturbed,
        "perturbation_noise_std": noise,
        "sensitive_attributes": list(SENSITIVE_ATTRIBUTES),
        "decision_rule": {"attributes": list(rule.attributes), "thresholds": rule.thresholds},
        "fairness": fairness,
        "permutation_importance": m.permutation_importance(predict, x, y, columns, seed=seed),
    }
    for path, text in ((evaluation_path, json.dumps(result, indent=2)), (report_path, _markdown(result))):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)
    return result


FAIRNESS_SCALARS = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
)
SCALARS = ("auc", "accuracy", "ece", "brier", *FAIRNESS_SCALARS, "robust_auc", "robustness_drop")


def _fairness(f, y: np.ndarray, decision: np.ndarray, values: np.ndarray) -> dict:
    """Per-group outcome counts and rates over one attribute, and its point metrics (approval = favourable)."""
    counts = f.outcome_counts(y, decision, values)
    groups = {
        g: {
            **c,
            "approval_rate": (c["approved_repaid"] + c["approved_defaulted"]) / c["rows"],
            "approval_rate_repaid": c["approved_repaid"] / c["repaid"] if c["repaid"] else float("nan"),
            "approval_rate_defaulted": (c["approved_defaulted"] / c["defaulted"] if c["defaulted"] else float("nan")),
        }
        for g, c in counts.items()
    }
    declines = [1 - v["approval_rate"] for v in groups.values()]
    return {
        **f.point_metrics(counts),
        "groups": groups,
        "decline_rate_ratio": min(declines) / max(declines) if max(declines) > 0 else float("nan"),
    }


def _worst(name: str, values: list[float]) -> float:
    """The largest difference or the smallest ratio (NaN, which fails the gate, wins)."""
    if any(math.isnan(v) for v in values) or not values:
        return float("nan")
    return max(values) if name.endswith("difference") else min(values)


def _markdown(r: dict) -> str:
    lines = [
        "# Model evaluation (held-out split)",
        "",
        f"{r['test_rows']} applications, default rate {r['label_rate']:.3f}",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {r[k]:.4f} |" for k in SCALARS]
    rule = r["decision_rule"]
    how = (
        f"per-group thresholds over {', '.join(rule['attributes'])}"
        if rule["attributes"]
        else f"decline if p(default) >= {rule['thresholds']['']}"
    )
    for attribute, a in r["fairness"].items():
        lines += [
            "",
            f"## Fairness across `{attribute}` ({how}; approval is the favourable outcome)",
            "",
            (
                f"demographic parity difference {a['demographic_parity_difference']:.4f}, ratio "
                f"{a['demographic_parity_ratio']:.4f}; equalized odds difference "
                f"{a['equalized_odds_difference']:.4f}, "
                f"ratio {a['equalized_odds_ratio']:.4f}; decline-rate ratio {a['decline_rate_ratio']:.4f}"
            ),
            "",
            "| group | rows | approval rate | approval if repaid | approval if defaulted |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {g} | {v['rows']} | {v['approval_rate']:.3f} | {v['approval_rate_repaid']:.3f} | "
            f"{v['approval_rate_defaulted']:.3f} |"
            for g, v in a["groups"].items()
        ]
    lines += [
        "",
        (
            f"## Robustness: AUC {r['robust_auc']:.4f} with N(0, {r['perturbation_noise_std']}) noise on "
            "standardized numeric inputs"
        ),
        "",
        "## Permutation importance (AUC drop)",
        "",
        "| input | drop |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v:.4f} |" for k, v in r["permutation_importance"].items()]
    return "\n".join(lines) + "\n"

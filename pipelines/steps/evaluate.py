"""Evaluate a model on the held-out split: discrimination, calibration, fairness, robustness, explainability."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

DECISION_THRESHOLD = 0.5
"""Probability above which an application is declined; fairness metrics are computed on these decisions."""


def evaluate_model(dataset_path: str, model_dir: str, report_path: str, evaluation_path: str, noise: float = 0.1,
                   seed: int = 0) -> dict:
    """Write the Markdown report and the metrics as JSON, and return the metrics."""
    from pipelines.features.schema import SENSITIVE
    from pipelines.ml import metrics as m
    from pipelines.ml.data import groups, labels, split_of
    from pipelines.ml.model import predict_proba
    from pipelines.steps.train import load_model

    frame = pd.read_parquet(dataset_path)
    test = frame[split_of(frame) == "test"].reset_index(drop=True)
    if test.empty:
        raise ValueError(f"{dataset_path}: the held-out split is empty")
    model, pre = load_model(model_dir)
    x, y, g = pre.transform(test), labels(test), groups(test)
    predict = lambda xs: predict_proba(model, xs)  # noqa: E731
    prob = predict(x)
    decision = (prob >= DECISION_THRESHOLD).astype("float64")
    auc = m.roc_auc(y, prob)
    perturbed = m.robustness_auc(predict, x, y, numeric_columns=len(pre.numeric), noise=noise, seed=seed)
    columns = {name: [i] for i, name in enumerate(pre.numeric)}
    offset = len(pre.numeric)
    for cat, values in pre.categorical.items():
        columns[cat] = list(range(offset, offset + len(values)))
        offset += len(values)
    result = {
        "test_rows": int(len(test)),
        "label_rate": float(y.mean()),
        "auc": auc,
        "accuracy": m.accuracy(y, prob, DECISION_THRESHOLD),
        "ece": m.expected_calibration_error(y, prob),
        "brier": m.brier(y, prob),
        "demographic_parity_difference": m.demographic_parity_difference(decision, g),
        "equalized_odds_difference": m.equalized_odds_difference(y, decision, g),
        "robust_auc": perturbed,
        "robustness_drop": auc - perturbed,
        "perturbation_noise_std": noise,
        "sensitive_attribute": SENSITIVE,
        "groups": m.group_rates(y, decision, g),
        "permutation_importance": m.permutation_importance(predict, x, y, columns, seed=seed),
    }
    for path, text in ((evaluation_path, json.dumps(result, indent=2)), (report_path, _markdown(result))):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)
    return result


SCALARS = ("auc", "accuracy", "ece", "brier", "demographic_parity_difference", "equalized_odds_difference",
           "robust_auc", "robustness_drop")


def _markdown(r: dict) -> str:
    lines = ["# Model evaluation (held-out split)", "", f"{r['test_rows']} applications, default rate {r['label_rate']:.3f}",
             "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {r[k]:.4f} |" for k in SCALARS]
    lines += ["", f"## Fairness across `{r['sensitive_attribute']}` (decline if p >= {DECISION_THRESHOLD})", "",
              "| group | rows | decline rate | TPR | FPR |", "|---|---|---|---|---|"]
    lines += [f"| {g} | {v['rows']} | {v['positive_rate']:.3f} | {v['tpr']:.3f} | {v['fpr']:.3f} |"
              for g, v in r["groups"].items()]
    lines += ["", f"## Robustness: AUC {r['robust_auc']:.4f} with N(0, {r['perturbation_noise_std']}) noise on "
              "standardized numeric inputs", "", "## Permutation importance (AUC drop)", "", "| input | drop |", "|---|---|"]
    lines += [f"| {k} | {v:.4f} |" for k, v in r["permutation_importance"].items()]
    return "\n".join(lines) + "\n"



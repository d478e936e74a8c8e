"""Validate a training frame: schema, nulls, ranges, label balance and drift against a reference profile."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from pipelines.features.schema import LABEL, training_fields
from pipelines.features.validation import Issue, ValidationReport, check_frame


class DataValidationFailed(Exception):
    """The data failed validation; the message is the readable report, ``summary`` the structured one."""

    def __init__(self, text: str, summary: dict):
        super().__init__(text)
        self.summary = summary


def validate_data(
    dataset_path: str,
    profile_path: str,
    report_path: str,
    min_rows: int = 1_000,
    min_label_rate: float = 0.02,
    max_label_rate: float = 0.6,
    max_psi: float = 0.25,
) -> dict:
    """Write a Markdown report to ``report_path`` (before anything can fail); raise :class:`DataValidationFailed`
    when any check fails, else return the structured summary."""
    from pipelines.ml.profile import drift

    frame = pd.read_parquet(dataset_path)
    reference = json.loads(Path(profile_path).read_text())
    report = check_frame(frame, training_fields(), subject=f"training data {dataset_path}", unique_keys=False)
    if len(frame) < min_rows:
        report.issues.append(Issue("*", "rows", f"{len(frame)} rows, at least {min_rows} needed", len(frame)))
    label_rate = float(frame[LABEL].mean()) if LABEL in frame and len(frame) else float("nan")
    if not min_label_rate <= label_rate <= max_label_rate:
        report.issues.append(
            Issue(LABEL, "balance", f"label rate {label_rate:.4f} outside [{min_label_rate}, {max_label_rate}]")
        )
    psis = drift(reference, frame)
    for name, value in psis.items():
        if value > max_psi:
            report.issues.append(
                Issue(name, "drift", f"PSI {value:.3f} against the reference window exceeds {max_psi}")
            )
    summary = {**report.to_dict(), "label_rate": label_rate, "psi": psis, "reference_window": reference.get("window")}
    text = _markdown(report, label_rate, psis, max_psi)
    Path(report_path).parent.mkdir(parents=True, exist_ok=True)
    Path(report_path).write_text(text)
    if not report.ok:
        raise DataValidationFailed(text, summary)
    return summary


def _markdown(report: ValidationReport, label_rate: float, psis: dict[str, float], max_psi: float) -> str:
    lines = [
        f"# Data validation: {'PASSED' if report.ok else 'FAILED'}",
        "",
        f"- rows: {report.rows}",
        f"- label rate: {label_rate:.4f}",
        "",
    ]
    if report.issues:
        lines += ["## Problems", "", report.to_text(), ""]
    lines += ["## Drift (PSI against the reference window)", "", "| feature | PSI | status |", "|---|---|---|"]
    lines += [f"| {k} | {v:.4f} | {'drift' if v > max_psi else 'ok'} |" for k, v in sorted(psis.items())]
    return "\n".join(lines) + "\n"

"""Checks a frame against the declared schema (types, nulls, ranges, allowed values) and says exactly what is wrong.

Used by batch ingestion (a bad batch is refused) and by the pipeline's validation step. Pure pandas.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import pandas as pd

from pipelines.features.schema import ENTITY_KEY, TIMESTAMP, Field

MAX_EXAMPLES = 5


@dataclass
class Issue:
    column: str
    rule: str  # missing | type | null | range | allowed | duplicate | drift | balance | rows
    message: str
    count: int = 0
    examples: list = field(default_factory=list)


@dataclass
class ValidationReport:
    subject: str
    rows: int
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues

    def to_dict(self) -> dict:
        return {"subject": self.subject, "rows": self.rows, "ok": self.ok, "issues": [asdict(i) for i in self.issues]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)

    def to_text(self) -> str:
        head = f"{self.subject}: {self.rows} rows, " + ("OK" if self.ok else f"{len(self.issues)} problem(s)")
        lines = [head]
        for i in self.issues:
            ex = f" e.g. {i.examples}" if i.examples else ""
            lines.append(f"  - [{i.rule}] {i.column}: {i.message}{ex}")
        return "\n".join(lines)


def _examples(values: pd.Series) -> list:
    return [v.item() if hasattr(v, "item") else v for v in values.head(MAX_EXAMPLES).tolist()]


def check_frame(df: pd.DataFrame, fields: list[Field], subject: str, *, unique_keys: bool = True) -> ValidationReport:
    """Every problem in ``df`` against the entity key, the event timestamp and ``fields``.

    ``unique_keys``: one row per entity and timestamp (a source table); training frames may repeat them.
    """
    report = ValidationReport(subject=subject, rows=len(df))
    fields = [Field(ENTITY_KEY, "int64", 0), Field(TIMESTAMP, "timestamp"), *fields]
    for f in fields:
        if f.name not in df.columns:
            report.issues.append(Issue(f.name, "missing", f"required column is missing (type {f.dtype})"))
            continue
        col = df[f.name]
        if not _type_ok(col, f.dtype):
            report.issues.append(
                Issue(f.name, "type", f"expected {f.dtype}, got {col.dtype}", len(col), _examples(col.dropna()))
            )
            continue
        nulls = col.isna()
        if nulls.any() and not f.nullable:
            report.issues.append(Issue(f.name, "null", "nulls are not allowed", int(nulls.sum())))
        values = col[~nulls]
        if f.minimum is not None or f.maximum is not None:
            lo = f.minimum if f.minimum is not None else -float("inf")
            hi = f.maximum if f.maximum is not None else float("inf")
            bad = values[(values < lo) | (values > hi)]
            if len(bad):
                report.issues.append(Issue(f.name, "range", f"values outside [{lo}, {hi}]", len(bad), _examples(bad)))
        if f.allowed:
            bad = values[~values.isin(list(f.allowed))]
            if len(bad):
                report.issues.append(
                    Issue(f.name, "allowed", f"values not in {list(f.allowed)}", len(bad), _examples(bad))
                )
    if unique_keys and not report.issues:
        dup = df.duplicated([ENTITY_KEY, TIMESTAMP], keep=False)
        if dup.any():
            report.issues.append(
                Issue(
                    f"{ENTITY_KEY}+{TIMESTAMP}",
                    "duplicate",
                    "the same entity has two rows at one timestamp",
                    int(dup.sum()),
                    _examples(df.loc[dup, ENTITY_KEY]),
                )
            )
    return report


def _type_ok(col: pd.Series, dtype: str) -> bool:
    if dtype == "int64":
        return pd.api.types.is_integer_dtype(col)
    if dtype == "float64":
        return pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
    if dtype == "string":
        return (pd.api.types.is_string_dtype(col) or col.dtype == object) and col.dropna().map(type).eq(str).all()
    if dtype == "timestamp":
        return isinstance(col.dtype, pd.DatetimeTZDtype)
    raise ValueError(f"unknown dtype {dtype!r}")

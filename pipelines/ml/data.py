"""Splits and preprocessing: turns a training frame into float tensors, with statistics fitted on train only."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from pipelines.features.schema import ENTITY_KEY, LABEL, SENSITIVE_ATTRIBUTES, model_inputs

LOG_SCALED = ("annual_income", "loan_amount")
"""Heavy-tailed money amounts: log1p before standardizing."""


def split_of(frame: pd.DataFrame, test_fraction: float = 0.2, val_fraction: float = 0.15) -> np.ndarray:
    """'train' / 'val' / 'test' per row, by a hash of the applicant, so one applicant never sits in two splits."""
    h = (frame[ENTITY_KEY].to_numpy().astype("uint64") * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)
    u = (h % np.uint64(10_000)).astype("float64") / 10_000
    return np.where(u < test_fraction, "test", np.where(u < test_fraction + val_fraction, "val", "train"))


def frame_hash(frame: pd.DataFrame) -> str:
    """Order-sensitive sha256 of a frame's contents (stable across processes)."""
    digest = hashlib.sha256()
    digest.update(json.dumps(list(map(str, frame.columns))).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


@dataclass
class Preprocessor:
    """Standardizes numeric inputs and one-hot encodes categoricals; JSON-serializable so it ships with the model."""

    numeric: list[str]
    categorical: dict[str, list]
    mean: list[float]
    std: list[float]

    @classmethod
    def fit(cls, frame: pd.DataFrame) -> Preprocessor:
        numeric, categorical = model_inputs()
        raw = _numeric_matrix(frame, numeric)
        std = raw.std(axis=0)
        return cls(
            numeric,
            {k: list(v) for k, v in categorical.items()},
            raw.mean(axis=0).tolist(),
            np.where(std > 0, std, 1.0).tolist(),
        )

    @property
    def input_names(self) -> list[str]:
        return [*self.numeric, *(f"{c}={v}" for c, values in self.categorical.items() for v in values)]

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        num = (_numeric_matrix(frame, self.numeric) - np.asarray(self.mean)) / np.asarray(self.std)
        onehots = [
            (frame[c].to_numpy()[:, None] == np.asarray(v, dtype=object)[None, :]).astype("float64")
            for c, v in self.categorical.items()
        ]
        return np.nan_to_num(np.hstack([num, *onehots]), nan=0.0).astype("float32")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Preprocessor:
        return cls(**json.loads(text))


def _numeric_matrix(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    cols = [
        np.log1p(frame[c].to_numpy(dtype="float64")) if c in LOG_SCALED else frame[c].to_numpy(dtype="float64")
        for c in columns
    ]
    return np.stack(cols, axis=1)


def labels(frame: pd.DataFrame) -> np.ndarray:
    return frame[LABEL].to_numpy(dtype="float32")


def sensitive_columns(frame: pd.DataFrame, attributes: tuple[str, ...] = SENSITIVE_ATTRIBUTES) -> dict[str, np.ndarray]:
    """Each protected attribute's values as strings, for the fairness metrics and the group thresholds."""
    missing = [a for a in attributes if a not in frame]
    if missing:
        raise ValueError(f"the frame lacks the sensitive attribute(s) {', '.join(missing)}")
    return {a: frame[a].astype(str).to_numpy() for a in attributes}

"""Predictions for Open Inference Protocol requests: tensors (or an entity id plus Feast online features) -> frame ->
the version's preprocessor and PyTorch model -> default probabilities."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.features.schema import ENTITY_KEY, FEATURE_SERVICE, Field, service_fields

if TYPE_CHECKING:
    from feast import FeatureService, FeatureStore

OUTPUT_NAME = "default_probability"
DECISION_NAME = "decline"
"""1 = decline, 0 = approve, by the version's per-group thresholds (``decision_thresholds.json``, fitted by the
mitigation step); given when the request carries the sensitive attributes the thresholds are keyed on."""
_NUMERIC_TYPES = {"FP16", "FP32", "FP64", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}
_INT64 = 2**63


class BadRequest(ValueError):
    """The request does not fit the model's inputs; the message says what is wrong (HTTP 400)."""


class VersionPredictor:
    """One registered model version, loaded once (CPU, eval mode)."""

    def __init__(self, model_dir: Path | str):
        from pipelines.ml.fairness import load_thresholds
        from pipelines.steps.train import load_model

        self.model, self.preprocessor = load_model(str(model_dir))
        self.decisions = load_thresholds(model_dir)
        self.lock = threading.Lock()  # BatchNorm in eval mode is read-only, but torch modules are not thread-safe

    @property
    def input_names(self) -> list[str]:
        return [*self.preprocessor.numeric, *self.preprocessor.categorical]

    def metadata_inputs(self) -> list[dict]:
        return [{"name": n, "datatype": "FP64", "shape": [-1]} for n in self.preprocessor.numeric] + [
            {"name": n, "datatype": "BYTES", "shape": [-1]} for n in self.preprocessor.categorical
        ]

    def predict(self, frame) -> list[float]:
        from pipelines.ml.model import predict_proba

        missing = [n for n in self.input_names if n not in frame]
        if missing:
            raise BadRequest(f"missing inputs: {', '.join(missing)} (send them as tensors or send {ENTITY_KEY})")
        nulls = [n for n, has_null in frame[self.input_names].isna().any().items() if has_null]
        if nulls:
            raise BadRequest(f"null values in inputs: {', '.join(nulls)}")
        for name, allowed in self.preprocessor.categorical.items():
            bad = sorted(set(frame[name].astype(str)) - set(map(str, allowed)))
            if bad:
                raise BadRequest(f"input {name}: {bad} not in {list(allowed)}")
        x = self.preprocessor.transform(frame)
        with self.lock:
            probabilities = [float(p) for p in predict_proba(self.model, x)]
        if not all(math.isfinite(p) for p in probabilities):  # never answer NaN: a model fault, a 500
            raise RuntimeError("the model returned a non-finite probability")
        return probabilities

    def decide(self, frame, probabilities: list[float]) -> list[int] | None:
        """The version's decisions for these rows, or None when the request lacks an attribute they are keyed on."""
        import numpy as np

        attributes = self.decisions.attributes
        if any(a not in frame for a in attributes):
            return None
        try:
            declined = self.decisions.decide(
                np.asarray(probabilities, dtype="float64"), {a: frame[a].to_numpy() for a in attributes}
            )
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return [int(d) for d in declined]


class OnlineFeatures:
    """Feast online-store reads of the feature service for entity ids (Feast is imported on first use)."""

    def __init__(self, feature_repo: Path | str, feature_service: str = FEATURE_SERVICE):
        self.repo, self.service_name = Path(feature_repo), feature_service
        self._store: FeatureStore | None = None
        self._service: FeatureService | None = None
        self._lock = threading.Lock()

    def warm(self) -> None:
        with self._lock:
            if self._store is None:
                from pipelines.features.store import LocalFeatureStore

                store = LocalFeatureStore(self.repo).feast()
                self._service = store.get_feature_service(self.service_name)
                self._store = store

    def fetch(self, entity_ids: list[int]) -> dict[str, list]:
        self.warm()
        store, service = self._store, self._service
        if store is None or service is None:  # warm() sets both or raises
            raise RuntimeError(f"feature store {self.repo} not loaded")
        rows = [{ENTITY_KEY: int(i)} for i in entity_ids]
        values = store.get_online_features(features=service, entity_rows=rows).to_dict()
        features = {k: v for k, v in values.items() if k != ENTITY_KEY}
        unknown = [entity_ids[i] for i in range(len(entity_ids)) if all(v[i] is None for v in features.values())]
        if unknown:
            raise BadRequest(f"no online features for {ENTITY_KEY} {unknown} in feature service {self.service_name}")
        return features


def request_frame(inputs: object, features: OnlineFeatures | None):
    """A frame with one row per instance from OIP input tensors; ``applicant_id`` pulls the rest from Feast.

    Tensors sent with the request override the online values (request-time features, such as the loan asked for).
    Every tensor named like a feature is checked against the feature schema ingestion validates with (type, range,
    allowed values), so the model never sees a value the training data could not hold.
    """
    import pandas as pd

    schema = {f.name: f for f in service_fields()}
    if not isinstance(inputs, list) or not inputs:
        raise BadRequest("'inputs' must be a non-empty list of tensors")
    columns: dict[str, list] = {}
    for tensor in inputs:
        if not isinstance(tensor, dict) or not {"name", "shape", "datatype", "data"} <= set(tensor):
            raise BadRequest("each input needs 'name', 'shape', 'datatype' and 'data'")
        name, datatype = tensor["name"], tensor["datatype"]
        data = _flatten(tensor["data"])
        shape = tensor["shape"]
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise BadRequest(f"input {name}: shape must be a list of non-negative integers, got {shape!r}")
        size = 1
        for d in shape:
            size *= d
        if size != len(data) or (len(shape) > 1 and any(d != 1 for d in shape[1:])):
            raise BadRequest(f"input {name}: shape {shape} does not match {len(data)} values (use [N] or [N, 1])")
        if datatype in _NUMERIC_TYPES:
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in data):
                raise BadRequest(f"input {name}: datatype {datatype} needs numbers")
            for value in data:
                _check_finite(name, value)
        elif datatype == "BYTES":
            data = [v if isinstance(v, str) else str(v) for v in data]
        else:
            raise BadRequest(f"input {name}: unsupported datatype {datatype!r}")
        if name in schema:
            check_field(schema[name], datatype, data)
        columns[name] = data
    lengths = {len(v) for v in columns.values()}
    if len(lengths) != 1:
        raise BadRequest(f"inputs have different lengths: { {k: len(v) for k, v in columns.items()} }")
    if ENTITY_KEY in columns:
        if features is None:
            raise BadRequest(
                f"{ENTITY_KEY} given but the server has no feature repository (start it with --feature-repo)"
            )
        ids = columns.pop(ENTITY_KEY)
        if not all((isinstance(i, int) or (isinstance(i, float) and i.is_integer())) and 0 <= i < _INT64 for i in ids):
            raise BadRequest(f"{ENTITY_KEY} must be integers in [0, 2**63)")
        online = features.fetch([int(i) for i in ids])
        columns = {**online, **columns}
        columns[ENTITY_KEY] = [int(i) for i in ids]
    return pd.DataFrame(columns)


def _check_finite(name: str, value: float) -> None:
    """JSON allows integers of any size and Python's parser accepts NaN/Infinity; the model takes neither."""
    if isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise BadRequest(f"input {name}: integer out of the 64-bit range")
    elif not math.isfinite(value):
        raise BadRequest(f"input {name}: {value} is not a finite number")


def check_field(field: Field, datatype: str, values: list) -> None:
    """One input tensor against its schema field (the declaration batch ingestion validates with)."""
    numeric = field.dtype in ("int64", "float64")
    if numeric and datatype not in _NUMERIC_TYPES:
        raise BadRequest(f"input {field.name}: expects numbers ({field.dtype}), got datatype {datatype}")
    for value in values:
        if field.dtype == "int64" and not float(value).is_integer():
            raise BadRequest(f"input {field.name}: {value!r} is not an integer")
        if numeric and (
            (field.minimum is not None and value < field.minimum)
            or (field.maximum is not None and value > field.maximum)
        ):
            raise BadRequest(
                f"input {field.name}: {value!r} is outside the allowed range [{field.minimum}, {field.maximum}]"
            )
        if field.allowed and value not in field.allowed:
            raise BadRequest(
                f"input {field.name}: {value!r} is not allowed (allowed: {', '.join(map(str, field.allowed))})"
            )


def _flatten(data) -> list:
    if not isinstance(data, list):
        raise BadRequest("tensor 'data' must be a list")
    out = []
    for item in data:
        out.extend(_flatten(item) if isinstance(item, list) else [item])
    return out

"""Load a point-in-time correct training frame from a Feast feature service, plus a reference profile for drift."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.features.store import LocalFeatureStore


class RetrievalMismatch(Exception):
    """The offline store returned a different number of rows than entity rows were asked for."""


def load_training_data(
    feature_repo: str,
    feature_service: str,
    start: str,
    end: str,
    reference_start: str,
    reference_end: str,
    dataset_path: str,
    profile_path: str,
) -> dict:
    """Write the frame for ``[start, end)`` to ``dataset_path`` (parquet) and the ``[reference_start, reference_end)``
    window's profile to ``profile_path`` (JSON); return row counts and the data hash."""
    from pipelines.ml.data import frame_hash
    from pipelines.ml.profile import build_profile

    store = LocalFeatureStore(feature_repo)
    entities = store.entity_rows(start, end)
    if entities.empty:
        raise ValueError(f"no applications between {start} and {end} in {feature_repo}")
    got = store.historical(entities, feature_service)
    if got.rows_got != got.rows_asked:
        raise RetrievalMismatch(f"asked the offline store for {got.rows_asked} entity rows, got {got.rows_got}")
    frame = got.frame.sort_values(["event_timestamp", "applicant_id"], kind="stable", ignore_index=True)
    Path(dataset_path).parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(dataset_path, index=False)

    reference = store.historical(store.entity_rows(reference_start, reference_end), feature_service).frame
    Path(profile_path).parent.mkdir(parents=True, exist_ok=True)
    Path(profile_path).write_text(json.dumps({"window": [reference_start, reference_end], **build_profile(reference)}))
    return {
        "rows_asked": got.rows_asked,
        "rows_got": got.rows_got,
        "data_hash": frame_hash(frame),
        "retrieval_seconds": round(got.seconds, 3),
        "feature_service": feature_service,
        "time_range": [start, end],
        "reference_rows": len(reference),
    }

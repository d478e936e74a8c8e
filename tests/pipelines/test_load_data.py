"""Load step: point-in-time training data with row counts and a content hash."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.pipelines.conftest import REFERENCE_RANGE, TRAIN_RANGE


def test_load_reports_rows_asked_and_got_and_a_stable_hash(training_data, small_store, tmp_path):
    from pipelines.ml.data import frame_hash
    from pipelines.steps.load_data import load_training_data

    frame = pd.read_parquet(training_data["dataset"])
    assert training_data["rows_asked"] == training_data["rows_got"] == len(frame) > 1_000
    assert frame["event_timestamp"].min() >= pd.Timestamp(TRAIN_RANGE[0], tz="UTC")
    assert training_data["data_hash"] == frame_hash(frame)
    again = load_training_data(
        str(small_store.root),
        "credit_risk_v1",
        *TRAIN_RANGE,
        *REFERENCE_RANGE,
        str(tmp_path / "d.parquet"),
        str(tmp_path / "p.json"),
    )
    assert again["data_hash"] == training_data["data_hash"]
    profile = json.loads((tmp_path / "p.json").read_text())
    assert profile["window"] == list(REFERENCE_RANGE) and "annual_income" in profile["features"]


def test_load_fails_clearly_on_an_empty_time_range(small_store, tmp_path):
    from pipelines.steps.load_data import load_training_data

    with pytest.raises(ValueError, match="no applications between 2030-01-01"):
        load_training_data(
            str(small_store.root),
            "credit_risk_v1",
            "2030-01-01",
            "2031-01-01",
            *REFERENCE_RANGE,
            str(tmp_path / "d.parquet"),
            str(tmp_path / "p.json"),
        )


def test_load_component_runs_locally(small_store, local_runner):
    from pipelines.components.load_data import load_training_data

    task = load_training_data(
        feature_repo=str(small_store.root),
        feature_service="credit_risk_v1",
        start=TRAIN_RANGE[0],
        end=TRAIN_RANGE[1],
        reference_start=REFERENCE_RANGE[0],
        reference_end=REFERENCE_RANGE[1],
    )
    assert task.outputs["rows_asked"] == task.outputs["rows_got"] > 1_000
    assert task.outputs["dataset"].metadata["data_hash"] == task.outputs["data_hash"]
    assert len(pd.read_parquet(task.outputs["dataset"].path)) == task.outputs["rows_got"]

"""Fixtures for the pipeline tests: one small embedded Feast store per session, and the KFP local runner."""

from __future__ import annotations

from pathlib import Path

import pytest

SMALL_ROWS = 3_000
TRAIN_RANGE = ("2024-07-01", "2026-01-01")
REFERENCE_RANGE = ("2024-01-01", "2024-07-01")


@pytest.fixture(scope="session")
def small_store(tmp_path_factory):
    """A bootstrapped and materialized local store (DuckDB offline, SQLite online) with a few thousand applications."""
    from pipelines.features.store import LocalFeatureStore

    store = LocalFeatureStore(tmp_path_factory.mktemp("feature_repo"))
    store.bootstrap(rows=SMALL_ROWS, seed=11, progress=lambda _: None)
    store.materialize()
    return store


@pytest.fixture(scope="session")
def training_data(small_store, tmp_path_factory) -> dict:
    """The training frame and reference profile, loaded once through the load step's core function."""
    from pipelines.steps.load_data import load_training_data

    out = tmp_path_factory.mktemp("training_data")
    info = load_training_data(
        str(small_store.root),
        "credit_risk_v1",
        *TRAIN_RANGE,
        *REFERENCE_RANGE,
        str(out / "dataset.parquet"),
        str(out / "profile.json"),
    )
    return {**info, "dataset": str(out / "dataset.parquet"), "profile": str(out / "profile.json")}


@pytest.fixture(scope="session")
def trained_model(training_data, tmp_path_factory) -> str:
    from pipelines.steps.train import train_trial

    model_dir = tmp_path_factory.mktemp("model")
    train_trial(
        training_data["dataset"], {"max_epochs": 15, "hidden": 32, "batch_size": 128}, str(model_dir), None, "cpu"
    )
    return str(model_dir)


@pytest.fixture
def local_runner(tmp_path: Path):
    """KFP's local SubprocessRunner in this interpreter, outputs under tmp_path."""
    import kfp.local

    kfp.local.init(runner=kfp.local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "kfp"))
    return tmp_path / "kfp"

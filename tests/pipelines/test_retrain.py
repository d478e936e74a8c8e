"""The retraining loop's parts: the window rolled forward, the seed, and the stable model read from the model store."""

from __future__ import annotations

import json

import pytest

from pipelines.registry import artifact_sha256
from pipelines.retrain import (
    baseline_auc,
    load_current,
    record_stable,
    retrain_parameters,
    seed_for,
    store_for_monitoring,
)
from pipelines.serving.model_store import ModelStoreError, current_version, publish

LINEAGE = {
    "time_range": ["2024-07-01", "2026-01-01"],
    "metrics": {"auc": 0.81},
    "parameters": {"reference_window": ["2024-01-01", "2024-07-01"]},
}


def test_the_training_window_rolls_forward_to_the_monitor_window_end():
    params, notes = retrain_parameters(
        LINEAGE,
        "2026-12-04T02:00:07Z",
        model_name="credit-risk",
        model_store_uri="s3://models",
        feature_repo="/feast/feature_repo",
        serving_url="http://credit-risk.ml-serving",
    )
    assert params == {
        "train_start": "2025-06-03",
        "train_end": "2026-12-04",  # the same 549 days as the current model
        "reference_start": "2024-12-03",
        "reference_end": "2025-06-03",  # the same 182 days, before training
        "model_name": "credit-risk",
        "model_store_uri": "s3://models",
        "feature_repo": "/feast/feature_repo",
        "serving_url": "http://credit-risk.ml-serving",
        "seed": seed_for("credit-risk", "2025-06-03", "2026-12-04"),
    }
    assert "549 days from the current model's lineage" in notes[0] and "182 days from the lineage" in notes[1]
    again, _ = retrain_parameters(
        LINEAGE, "2026-12-04T23:59:00+00:00", model_name="credit-risk", model_store_uri="s3://models", feature_repo="/f"
    )
    assert again["seed"] == params["seed"], "the same window (same day) gives the same seed"
    later, _ = retrain_parameters(
        LINEAGE, "2026-12-05", model_name="credit-risk", model_store_uri="s3://models", feature_repo="/f"
    )
    assert later["seed"] != params["seed"] and 0 <= later["seed"] < 2**31


def test_without_a_time_range_the_configured_spans_apply_and_bad_input_is_named():
    params, notes = retrain_parameters(
        {},
        "2026-03-01",
        model_name="m",
        model_store_uri="file:///s",
        feature_repo="/f",
        train_days=60,
        reference_days=10,
    )
    assert (params["train_start"], params["reference_start"]) == ("2025-12-31", "2025-12-21")
    assert "train_days" in notes[0] and "serving_url" not in params
    with pytest.raises(ValueError, match="lineage time_range .* empty or reversed"):
        retrain_parameters(
            {"time_range": ["2026-01-01", "2025-01-01"]},
            "2026-03-01",
            model_name="m",
            model_store_uri="s3://m",
            feature_repo="/f",
        )
    with pytest.raises(ValueError, match="window_end 'yesterday' is not an ISO date"):
        retrain_parameters({}, "yesterday", model_name="m", model_store_uri="s3://m", feature_repo="/f")
    with pytest.raises(ValueError, match="model_store_uri is empty"):
        retrain_parameters({}, "2026-03-01", model_name="m", model_store_uri="", feature_repo="/f")


def test_the_baseline_auc_comes_from_the_lineage_unless_overridden():
    assert baseline_auc(LINEAGE) == 0.81
    assert baseline_auc(LINEAGE, 0.9) == 0.9
    assert baseline_auc({}) is None


def _version(tmp_path, name: str, weights: str):
    model = tmp_path / name
    model.mkdir()
    (model / "model.pt").write_text(weights)
    return model, artifact_sha256(model)


def test_the_monitor_follows_the_promotions_recorded_in_the_model_store(tmp_path):
    store = f"file://{tmp_path / 'store'}"
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({"features": {}}))
    with pytest.raises(ModelStoreError, match="no promoted version of credit-risk"):
        load_current(store, "credit-risk", tmp_path / "work")
    for version, weights, auc in (("run-aaaa", "w1", 0.8), ("run-bbbb", "w2", 0.85)):
        model, sha = _version(tmp_path, version, weights)
        publish(model, store, "credit-risk", version, sha)
        store_for_monitoring(store, "credit-risk", version, {"metrics": {"auc": auc}, "sha256": sha}, profile)
        record_stable(store, "credit-risk", {"version": version, "outcome": "promoted"}, sha, f"r-{version}")
        current = load_current(store, "credit-risk", tmp_path / "work")
        assert current.version == version and current.lineage["metrics"]["auc"] == auc
        assert (current.model_dir / "model.pt").read_text() == weights and current.reference_profile == {"features": {}}
    first = current_version(store, "credit-risk")
    assert record_stable(store, "credit-risk", {"version": "run-bbbb"}, first["sha256"]) == first
    assert len(list((tmp_path / "store" / "credit-risk" / "_promotions").iterdir())) == 2, "no entry for a rerun"
    store_for_monitoring(store, "credit-risk", "run-bbbb", {"metrics": {"auc": 0.1}}, profile)
    assert load_current(store, "credit-risk", tmp_path / "w2").lineage["metrics"]["auc"] == 0.85, "written once"


def test_a_copy_that_does_not_match_the_promoted_sha256_is_refused(tmp_path):
    store = f"file://{tmp_path / 'store'}"
    model, sha = _version(tmp_path, "run-cccc", "w3")
    publish(model, store, "credit-risk", "run-cccc", sha)
    profile = tmp_path / "p.json"
    profile.write_text("{}")
    store_for_monitoring(store, "credit-risk", "run-cccc", {}, profile)
    record_stable(store, "credit-risk", {"version": "run-cccc"}, "0" * 64)
    with pytest.raises(ModelStoreError, match="hashes to .* the promotion record says 0000"):
        load_current(store, "credit-risk", tmp_path / "work")

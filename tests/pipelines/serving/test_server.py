"""``mlops serve``: Open Inference Protocol routes, the stable/canary split, per-version stats and the request log."""

from __future__ import annotations

import json

import pytest

from pipelines.registry import LocalRegistry
from pipelines.serving.probe import get_json, infer_body, post_json
from pipelines.serving.server import ServingApp


def test_health_metadata_and_inference_follow_the_protocol(served, sample_rows):
    _, _, base = served
    assert get_json(f"{base}/health/live") == (200, {"live": True})
    assert get_json(f"{base}/health/ready") == (200, {"ready": True})
    status, meta = get_json(f"{base}/models/credit-risk")
    assert status == 200 and meta["name"] == "credit-risk" and meta["versions"] == ["v1", "v2"]
    assert {"name": "home_ownership", "datatype": "BYTES", "shape": [-1]} in meta["inputs"]
    assert meta["outputs"][0]["name"] == "default_probability" and meta["parameters"]["traffic"] == {"v1": 100}
    assert get_json(f"{base}/models/credit-risk/ready")[0] == 200
    status, out = post_json(f"{base}/models/credit-risk/infer", infer_body(sample_rows[0], "r-1"))
    assert status == 200 and out["model_version"] == "v1" and out["id"] == "r-1"
    tensor, decision = out["outputs"]
    assert tensor["shape"] == [1] and 0.0 < tensor["data"][0] < 1.0
    assert decision["data"] == [int(tensor["data"][0] >= 0.5)]  # no thresholds file: the 0.5 rule
    batch = {
        "inputs": [
            {
                "name": k,
                "shape": [len(sample_rows)],
                "datatype": "BYTES" if isinstance(v, str) else "FP64",
                "data": [r[k] for r in sample_rows],
            }
            for k, v in sample_rows[0].items()
        ]
    }
    status, out = post_json(f"{base}/models/credit-risk/versions/v2/infer", batch)
    assert status == 200 and out["model_version"] == "v2" and out["outputs"][0]["shape"] == [len(sample_rows)]


def test_bad_requests_name_the_problem(served, sample_rows):
    _, _, base = served
    row = dict(sample_rows[0])
    del row["loan_amount"]
    status, out = post_json(f"{base}/models/credit-risk/infer", infer_body(row, "r"))
    assert status == 400 and "missing inputs: loan_amount" in out["error"]
    boat = infer_body({**sample_rows[0], "home_ownership": "boat"}, "r")
    status, out = post_json(f"{base}/models/credit-risk/infer", boat)
    assert status == 400 and "home_ownership" in out["error"]
    status, out = post_json(
        f"{base}/models/credit-risk/infer", {"inputs": [{"name": "x", "shape": [2], "datatype": "FP64", "data": [1]}]}
    )
    assert status == 400 and "shape" in out["error"]
    status, out = post_json(f"{base}/models/credit-risk/infer", infer_body({**sample_rows[0], "applicant_id": 7}, "r"))
    assert status == 400 and "feature repository" in out["error"]
    assert post_json(f"{base}/models/nope/infer", infer_body(sample_rows[0], "r"))[0] == 404
    assert post_json(f"{base}/models/credit-risk/versions/v9/infer", infer_body(sample_rows[0], "r"))[0] == 404
    assert get_json(f"{base}/models/nope")[0] == 404


def test_canary_split_is_deterministic_and_counted_per_version(served, sample_rows):
    registry, app, base = served
    registry.start_rollout("credit-risk", "v2", "canary", 20)
    infer = f"{base}/models/credit-risk/infer"
    routed = [post_json(infer, infer_body(sample_rows[i % 8], f"id-{i}"))[1]["model_version"] for i in range(200)]
    again = [
        post_json(f"{base}/models/credit-risk/infer", infer_body(sample_rows[0], f"id-{i}"))[1]["model_version"]
        for i in range(200)
    ]
    assert routed == again, "the same request id always reaches the same version"
    assert 20 <= routed.count("v2") <= 60
    _, stats = get_json(f"{base}/models/credit-risk/stats?since=0")
    assert stats["versions"]["v2"]["requests"] == 2 * routed.count("v2")
    assert stats["versions"]["v1"]["errors"] == 0 and stats["versions"]["v1"]["p95_ms"] > 0
    lines = [json.loads(line) for line in app.request_log.read_text().splitlines()]
    assert len(lines) == 400 and lines[0]["inputs"]["annual_income"] == [sample_rows[0]["annual_income"]]
    assert {line["route"] for line in lines} == {"stable", "candidate"}


def test_a_broken_version_answers_500_and_counts_errors(tmp_path, model_dirs, sample_rows):
    registry = LocalRegistry(tmp_path / "registry")
    registry.register("m", model_dirs["broken"])
    registry.start_rollout("m", "v1", "canary", 10)
    app = ServingApp(registry, tmp_path / "log.jsonl")
    status, out = app.infer("m", infer_body(sample_rows[0], "x"))
    assert status == 500 and "RuntimeError" in out["error"]
    assert app.stats("m")["v1"]["errors"] == 1


@pytest.mark.slow
def test_an_entity_id_is_answered_with_online_features_from_feast(small_store, tmp_path, model_dirs, sample_rows):
    import pandas as pd

    registry = LocalRegistry(tmp_path / "registry")
    registry.register("credit-risk", model_dirs["a"])
    registry.start_rollout("credit-risk", "v1", "canary", 10)
    app = ServingApp(registry, tmp_path / "log.jsonl", feature_repo=small_store.root)
    ids = pd.read_parquet(small_store.source_path("credit_bureau"), columns=["applicant_id"])["applicant_id"]
    known = [int(i) for i in ids.head(3)]
    status, out = app.infer(
        "credit-risk", {"inputs": [{"name": "applicant_id", "shape": [3], "datatype": "INT64", "data": known}]}
    )
    assert status == 200, out
    assert len(out["outputs"][0]["data"]) == 3
    entry = json.loads(app.request_log.read_text().splitlines()[-1])
    assert "applicant_id" not in entry["inputs"] and len(entry["inputs"]["applicant_id_hmac"]) == len(known)
    assert "age_band" not in entry["inputs"] and None not in entry["inputs"]["credit_utilization"]
    override = {
        "inputs": [
            {"name": "applicant_id", "shape": [1], "datatype": "INT64", "data": [known[0]]},
            {"name": "loan_amount", "shape": [1], "datatype": "FP64", "data": [900000.0]},
        ]
    }
    status, _ = app.infer("credit-risk", override)
    assert status == 200
    assert json.loads(app.request_log.read_text().splitlines()[-1])["inputs"]["loan_amount"] == [900000.0]
    status, out = app.infer(
        "credit-risk", {"inputs": [{"name": "applicant_id", "shape": [1], "datatype": "INT64", "data": [10**9]}]}
    )
    assert status == 400 and "no online features" in out["error"]


def test_concurrent_requests_are_all_counted_and_logged(served, sample_rows):
    from concurrent.futures import ThreadPoolExecutor

    registry, app, base = served
    registry.start_rollout("credit-risk", "v2", "canary", 50)

    def call(i):
        return post_json(f"{base}/models/credit-risk/infer", infer_body(sample_rows[i % 8], f"c-{i}"))[0]

    with ThreadPoolExecutor(8) as pool:
        polls = [pool.submit(get_json, f"{base}/models/credit-risk/stats?since=0") for _ in range(20)]
        statuses = list(pool.map(call, range(200)))
    assert statuses == [200] * 200 and all(p.result()[0] == 200 for p in polls)
    counts = get_json(f"{base}/models/credit-risk/stats?since=0")[1]["versions"]
    assert counts["v1"]["requests"] + counts["v2"]["requests"] == 200
    assert len(app.request_log.read_text().splitlines()) == 200


def test_a_mitigated_version_answers_its_per_group_decisions(tmp_path, model_dirs, sample_rows):
    """The decision output follows the version's decision_thresholds.json; without the attribute no decision is
    made (and the answer says why); a group without a threshold is a 400."""
    import shutil

    from pipelines.ml.fairness import THRESHOLDS_FILE

    mitigated = tmp_path / "mitigated"
    shutil.copytree(model_dirs["a"], mitigated)
    (mitigated / THRESHOLDS_FILE).write_text(
        json.dumps({"attributes": ["age_band"], "thresholds": {"age_band=26-35": 0.0, "age_band=18-25": 1.0}})
    )
    registry = LocalRegistry(tmp_path / "registry")
    registry.register("credit-risk", mitigated)
    registry.start_rollout("credit-risk", "v1", "canary", 10)
    registry.promote("credit-risk", "v1")
    app = ServingApp(registry, tmp_path / "requests.jsonl")

    status, body = app.infer("credit-risk", infer_body(sample_rows[0], "r1"))
    assert status == 200 and body["outputs"][1] == {"name": "decline", "datatype": "INT8", "shape": [1], "data": [1]}
    status, body = app.infer("credit-risk", infer_body({**sample_rows[0], "age_band": "18-25"}, "r2"))
    assert status == 200 and body["outputs"][1]["data"] == [0]
    without = {k: v for k, v in sample_rows[0].items() if k != "age_band"}
    status, body = app.infer("credit-risk", infer_body(without, "r3"))
    assert status == 200 and len(body["outputs"]) == 1 and "age_band" in body["parameters"]["decision"]
    status, body = app.infer("credit-risk", infer_body({**sample_rows[0], "age_band": "65+"}, "r4"))
    assert status == 400 and "age_band=65+" in body["error"]

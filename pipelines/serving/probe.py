"""Health-check traffic for a rollout: Open Inference Protocol requests built from held-out rows, sent with urllib
(standard library, so the deploy step needs nothing extra on the cluster)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from pipelines.serving.rollout import WindowStats


def payload_rows(frame, columns: list[str], limit: int = 64) -> list[dict]:
    """Up to ``limit`` rows of ``frame`` as {column: value} dicts, for :func:`infer_body`."""
    sample = frame[columns].head(limit)
    return [{c: (v.item() if hasattr(v, "item") else v) for c, v in row.items()} for row in sample.to_dict("records")]


def infer_body(row: dict, request_id: str) -> dict:
    """One instance as OIP input tensors (numbers FP64, strings BYTES)."""
    inputs = [
        {"name": k, "shape": [1], "datatype": "BYTES" if isinstance(v, str) else "FP64", "data": [v]}
        for k, v in row.items()
    ]
    return {"id": request_id, "inputs": inputs}


def entity_body(applicant_id: int, request_id: str) -> dict:
    """One applicant by id: the server reads the features from Feast's online store."""
    from pipelines.features.schema import ENTITY_KEY

    return {
        "id": request_id,
        "inputs": [{"name": ENTITY_KEY, "shape": [1], "datatype": "INT64", "data": [int(applicant_id)]}],
    }


def post_json(url: str, body: dict, timeout: float = 10.0, headers: dict | None = None) -> tuple[int, dict]:
    """POST JSON; returns (status, body). Transport failures come back as status 0."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {}
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return 0, {"error": str(exc)}


def get_json(url: str, timeout: float = 10.0) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, {}
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return 0, {"error": str(exc)}


def send_probes(url: str, rows: list[dict], count: int, id_prefix: str, window_seconds: float = 0.0) -> WindowStats:
    """``count`` single-instance requests to ``url`` spread evenly over ``window_seconds``; their statistics."""
    if not rows:
        raise ValueError("no rows to probe with")
    statuses, latencies = [], []
    gap = window_seconds / count if count else 0.0
    for i in range(count):
        started = time.perf_counter()
        status, _ = post_json(url, infer_body(rows[i % len(rows)], f"{id_prefix}-{i}"))
        latencies.append((time.perf_counter() - started) * 1000)
        statuses.append(status)
        if gap:
            time.sleep(max(0.0, gap - (time.perf_counter() - started)))
    return WindowStats.from_calls(statuses, latencies)

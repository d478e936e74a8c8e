"""The model server under hostile or careless clients: inputs outside the feature schema, client errors that must not
count against a version, clients that hold connections, many clients at once, and a request log that stays bounded
and keeps no personal data."""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import threading
import time
from urllib.parse import urlparse

import pytest

from pipelines.registry import LocalRegistry
from pipelines.serving.probe import get_json, infer_body, post_json
from tests.pipelines.serving.conftest import SAMPLE

INFER = "/models/credit-risk/infer"


def _stats(base: str, version: str = "v1") -> dict:
    return get_json(f"{base}/models/credit-risk/stats?since=0")[1]["versions"].get(version, {})


def _raw(base: str, payload: bytes, headers: dict | None = None) -> tuple[int, str]:
    """POST bytes as given (Python's JSON writer emits Infinity, NaN and 400-digit integers as they are)."""
    url = urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.request(
            "POST", f"{url.path}{INFER}", body=payload, headers={"Content-Type": "application/json", **(headers or {})}
        )
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN", "1e999"])
def test_non_finite_numbers_are_refused_naming_the_input(served, literal):
    _, app, base = served
    body = json.dumps(infer_body({**SAMPLE, "annual_income": 1.0}, "inf")).replace("1.0", literal, 1)
    status, text = _raw(base, body.encode())
    assert status == 400, text
    error = json.loads(text)["error"]
    assert "input annual_income" in error and "not a finite number" in error and "NaN" not in text.replace(literal, "")
    assert _stats(base) == {}, "a body refused before it reaches a version is no version's traffic"
    status, out = app.infer("credit-risk", infer_body({**SAMPLE, "annual_income": float(literal)}, "direct"))
    assert status == 400 and "input annual_income" in out["error"] and "not a finite number" in out["error"]
    assert _stats(base)["errors"] == 0


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("annual_income", 1e300, "[0.0, 5000000.0]"),
        ("loan_amount", -5000.0, "[500.0, 1000000.0]"),
        ("loan_term_months", 7, "12, 24, 36, 48, 60"),
        ("open_accounts", 5.5, "not an integer"),
        ("home_ownership", "boat", "rent, mortgage, own"),
    ],
)
def test_values_outside_the_feature_schema_are_client_errors(served, field, value, expected):
    _, app, base = served
    status, out = post_json(f"{base}{INFER}", infer_body({**SAMPLE, field: value}, "schema"))
    assert status == 400 and f"input {field}" in out["error"] and expected in out["error"], out
    assert app.infer("credit-risk", infer_body({**SAMPLE, field: value}, "direct"))[0] == 400
    assert _stats(base)["errors"] == 0 and _stats(base)["client_errors"] == 2


def test_a_huge_integer_is_a_400_and_not_the_versions_error(served):
    _, _, base = served
    status, text = _raw(base, json.dumps(infer_body({**SAMPLE, "loan_amount": 10**400}, "big")).encode())
    assert status == 400 and "loan_amount" in json.loads(text)["error"], text
    stats = _stats(base)
    assert stats["errors"] == 0 and stats["client_errors"] == 1 and stats["error_rate"] == 0.0


def test_unknown_models_and_versions_are_nobodys_traffic(served):
    _, app, base = served
    assert post_json(f"{base}/models/credit-risk/versions/v9/infer", infer_body(SAMPLE, "x"))[0] == 404
    assert post_json(f"{base}/models/nope/infer", infer_body(SAMPLE, "y"))[0] == 404
    assert post_json(f"{base}/models/credit-risk/versions/v1/infer", infer_body(SAMPLE, "z"))[0] == 200
    assert set(get_json(f"{base}/models/credit-risk/stats?since=0")[1]["versions"]) == {"v1"}
    assert get_json(f"{base}/models/nope/stats")[1]["versions"] == {}
    entries = [json.loads(line) for line in app.request_log.read_text().splitlines()]
    assert [(e["status"], e["version"]) for e in entries] == [(404, None), (404, None), (200, "v1")]


def test_answers_never_carry_nan(tmp_path, model_dirs):
    """A model that outputs NaN is a server fault (500, counted), not a 200 with NaN in the body."""
    import torch

    from pipelines.serving.server import ServingApp

    weights = torch.load(model_dirs["a"] / "model.pt")
    first = next(iter(weights["state_dict"]))
    weights["state_dict"][first].fill_(float("nan"))
    nan_dir = tmp_path / "nan-model"
    nan_dir.mkdir()
    torch.save(weights, nan_dir / "model.pt")
    (nan_dir / "preprocessor.json").write_text((model_dirs["a"] / "preprocessor.json").read_text())
    registry = LocalRegistry(tmp_path / "registry")
    registry.register("m", nan_dir)
    registry.start_rollout("m", "v1", "canary", 10)
    app = ServingApp(registry, tmp_path / "log.jsonl")
    status, out = app.infer("m", infer_body(SAMPLE, "nan"))
    assert status == 500 and "non-finite" in out["error"] and app.stats("m")["v1"]["errors"] == 1


def _connect(base: str) -> socket.socket:
    url = urlparse(base)
    return socket.create_connection((url.hostname, url.port), timeout=15)


def _until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (socket.timeout if it never does)."""
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    sock.close()
    return data


def test_a_client_that_never_sends_its_body_is_cut_off_and_others_are_served(served):
    _, _, base = served
    path = urlparse(base).path + INFER
    stalled = _connect(base)
    stalled.sendall(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n".encode()
    )
    started = time.monotonic()
    assert post_json(f"{base}{INFER}", infer_body(SAMPLE, "meanwhile"), timeout=5)[0] == 200
    answer = _until_closed(stalled)
    assert answer.startswith(b"HTTP/1.1 408") and b"not received within" in answer, answer
    assert time.monotonic() - started < 10

    negative = _connect(base)
    negative.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".encode())
    assert _until_closed(negative).startswith(b"HTTP/1.1 400")


def test_a_body_over_the_limit_is_refused_before_it_is_read(served):
    _, _, base = served
    oversized = _connect(base)
    oversized.sendall(
        f"POST {urlparse(base).path + INFER} HTTP/1.1\r\nHost: x\r\nContent-Length: {64 * 1024 * 1024}\r\n\r\n".encode()
    )
    assert b" 413 " in _until_closed(oversized).split(b"\r\n")[0]


def test_64_concurrent_clients_are_all_served(served):
    _, _, base = served
    url = urlparse(base)
    clients, per_client = 64, 5
    statuses: list[int] = []
    gate = threading.Barrier(clients)
    body = json.dumps(infer_body(SAMPLE, "load")).encode()

    def client() -> None:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        gate.wait()
        for _ in range(per_client):
            try:
                conn.request("POST", f"{url.path}{INFER}", body=body, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                statuses.append(response.status)
            except OSError as exc:  # a reset or a refused connection
                statuses.append(type(exc).__name__)
                conn.close()
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == [200] * clients * per_client


def test_the_request_log_rotates_and_the_monitor_reads_every_file(tmp_path, model_dirs):
    from pipelines.serving.monitor import served_inputs
    from pipelines.serving.server import ServingApp

    registry = LocalRegistry(tmp_path / "registry")
    registry.register("credit-risk", model_dirs["a"])
    registry.start_rollout("credit-risk", "v1", "canary", 10)
    log = tmp_path / "serving" / "requests.jsonl"
    app = ServingApp(registry, log, log_max_bytes=4000, log_backups=2)
    for i in range(60):
        assert app.infer("credit-risk", infer_body(SAMPLE, f"r{i}"))[0] == 200
    files = sorted(p.name for p in log.parent.iterdir())
    assert files == ["requests.jsonl", "requests.jsonl.1", "requests.jsonl.2"]
    assert all(p.stat().st_size <= 4000 for p in log.parent.iterdir())
    kept = [json.loads(line) for name in reversed(files) for line in (log.parent / name).read_text().splitlines()]
    assert 0 < len(kept) < 60 and [e["id"] for e in kept] == [f"r{i}" for i in range(60 - len(kept), 60)]
    frame = served_inputs(log, "credit-risk", "v1")
    assert len(frame) == len(kept) and frame["annual_income"].tolist() == [SAMPLE["annual_income"]] * len(kept)


def test_the_request_log_names_the_caller_and_keeps_no_personal_data(served, monkeypatch):
    _, app, base = served
    token = "eyJhbGciOi.secret-token.value"
    assert (
        post_json(f"{base}{INFER}", infer_body(SAMPLE, "who-1"), headers={"Authorization": f"Bearer {token}"})[0] == 200
    )
    assert post_json(f"{base}{INFER}", infer_body(SAMPLE, "who-2"), headers={"X-Forwarded-User": "alice"})[0] == 200
    assert post_json(f"{base}{INFER}", infer_body(SAMPLE, "who-3"))[0] == 200
    text = app.request_log.read_text()
    assert token not in text and "secret-token" not in text
    first, second, third = (json.loads(line) for line in text.splitlines())
    assert first["caller"] == {"address": "127.0.0.1", "token_sha256": hashlib.sha256(token.encode()).hexdigest()[:16]}
    assert second["caller"] == {"address": "127.0.0.1", "user": "alice"}
    assert third["caller"] == {"address": "127.0.0.1"}
    for entry in (first, second, third):
        assert "age_band" not in entry["inputs"] and entry["inputs"]["annual_income"] == [SAMPLE["annual_income"]]


def test_applicant_ids_are_logged_as_a_keyed_hash(tmp_path, monkeypatch):
    import pandas as pd

    from pipelines.serving.server import LOG_KEY_ENV, PSEUDONYM, ServingApp, sensitive_fields

    frame = pd.DataFrame([{**SAMPLE, "applicant_id": 100_123}])
    monkeypatch.setenv(LOG_KEY_ENV, "key-one")
    one = ServingApp(LocalRegistry(tmp_path / "r"), tmp_path / "a.jsonl").logged_inputs(frame)
    again = ServingApp(LocalRegistry(tmp_path / "r"), tmp_path / "b.jsonl").logged_inputs(frame)
    monkeypatch.setenv(LOG_KEY_ENV, "key-two")
    other = ServingApp(LocalRegistry(tmp_path / "r"), tmp_path / "c.jsonl").logged_inputs(frame)
    assert "applicant_id" not in one and not sensitive_fields() & set(one)
    assert one[PSEUDONYM] == again[PSEUDONYM] != other[PSEUDONYM]
    assert "100123" not in json.dumps(one) and len(one[PSEUDONYM][0]) == 16

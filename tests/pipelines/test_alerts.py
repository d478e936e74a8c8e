"""Alert webhooks against a real local HTTP server: the exact JSON per format, retries, and no credential in logs."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines.alerts import (
    GATE_REJECTED,
    RETRAIN_STARTED,
    ROLLED_BACK,
    Alert,
    AlertConfig,
    AlertConfigError,
    notify,
    send,
)

SECRET = "R0UTING-KEY-never-logged"
AT = "2026-12-04T19:00:00+00:00"


class Webhook:
    """Records every request; answers each with the next status in ``statuses`` (then 202)."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.received: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.received.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(body)})
                status = outer.statuses.pop(0) if outer.statuses else 202
                data = json.dumps({"status": "ok" if status < 300 else f"failed, key {SECRET}"}).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


def _alert(event=RETRAIN_STARTED):
    return Alert(event, "credit-risk", "credit-risk run-1: retraining started", {"run_id": "r-1"}, at=AT)


def _send(url, fmt, monkeypatch, secret=SECRET, **kw):
    if secret is None:
        monkeypatch.delenv("MLOPS_ALERT_SECRET", raising=False)
    else:
        monkeypatch.setenv("MLOPS_ALERT_SECRET", secret)
    logs, delays = [], []
    result = send(AlertConfig.from_params(url, fmt, **kw), _alert(), logs.append, delays.append)
    return result, logs, delays


def test_alertmanager_gets_a_list_of_alerts_on_its_v2_api(webhook, monkeypatch):
    result, logs, _ = _send(webhook.url, "alertmanager", monkeypatch, secret=None)
    assert result.delivered and result.attempts == 1
    (got,) = webhook.received
    assert got["path"] == "/api/v2/alerts", "the API path is added to a base URL"
    assert got["json"] == [
        {
            "labels": {
                "alertname": "MLOpsRetrainStarted",
                "severity": "warning",
                "model": "credit-risk",
                "event": "retrain_started",
                "source": "mlops-pipeline",
            },
            "annotations": {"summary": "credit-risk run-1: retraining started", "description": '{"run_id": "r-1"}'},
            "startsAt": AT,
        }
    ]
    assert "Authorization" not in got["headers"]
    assert logs == [f"alert retrain_started delivered to alertmanager at {webhook.url}/api/v2/alerts (202)"]


def test_pagerduty_events_v2_with_the_routing_key_from_the_environment(webhook, monkeypatch):
    result, logs, _ = _send(webhook.url + "/v2/enqueue", "pagerduty", monkeypatch)
    assert result.delivered
    (got,) = webhook.received
    assert got["path"] == "/v2/enqueue"
    assert got["json"] == {
        "routing_key": SECRET,
        "event_action": "trigger",
        "dedup_key": "credit-risk:retrain_started:r-1",
        "payload": {
            "summary": "credit-risk run-1: retraining started",
            "severity": "warning",
            "source": "mlops-pipeline",
            "component": "credit-risk",
            "group": "mlops",
            "class": "retrain_started",
            "timestamp": AT,
            "custom_details": {"run_id": "r-1"},
        },
    }
    assert SECRET not in " ".join(logs) + result.message


def test_pagerduty_without_a_routing_key_is_not_delivered_and_says_so(webhook, monkeypatch):
    result, logs, _ = _send(webhook.url, "pagerduty", monkeypatch, secret=None)
    assert not result.delivered and not webhook.received
    assert "routing key is missing" in result.message and "MLOPS_ALERT_SECRET" in result.message
    assert logs[0].startswith("WARNING: alert retrain_started NOT delivered")


@pytest.mark.parametrize(
    ("secret", "auth"),
    [("svc-mlops:pa55", "Basic " + base64.b64encode(b"svc-mlops:pa55").decode()), ("tok3n", "Bearer tok3n")],
)
def test_servicenow_incident_with_basic_auth_or_a_token(webhook, monkeypatch, secret, auth):
    monkeypatch.setenv("SNOW_AUTH", secret)
    config = AlertConfig.from_params(webhook.url + "/api/now/table/incident", "servicenow", "SNOW_AUTH")
    logs = []
    result = send(
        config,
        Alert(
            GATE_REJECTED,
            "credit-risk",
            "release gate rejected credit-risk: auc fails",
            {"run_id": "r-2", "reasons": ["auc fails"]},
            at=AT,
        ),
        logs.append,
    )
    assert result.delivered
    (got,) = webhook.received
    assert got["path"] == "/api/now/table/incident" and got["headers"]["Authorization"] == auth
    assert got["json"] == {
        "short_description": "[credit-risk] release gate rejected credit-risk: auc fails",
        "description": "release gate rejected credit-risk: auc fails\n\n"
        + json.dumps({"reasons": ["auc fails"], "run_id": "r-2"}, indent=2, sort_keys=True),
        "urgency": "2",
        "impact": "2",
        "category": "software",
        "correlation_id": "credit-risk:gate_rejected:r-2",
    }
    assert secret not in " ".join(logs)


def test_server_errors_are_retried_with_bounded_backoff_and_the_secret_stays_out_of_logs(monkeypatch):
    hook = Webhook([500, 503, 500, 500, 500])
    try:
        result, logs, delays = _send(hook.url, "pagerduty", monkeypatch, retries=2, backoff=0.5)
        assert not result.delivered and result.attempts == 3 and len(hook.received) == 3
        assert delays == [0.5, 1.0]
        assert "NOT delivered" in result.message and "HTTP 500" in result.message
        assert SECRET not in " ".join(logs) + result.message, "the server echoed the key; it is scrubbed"
        hook.statuses = [500, 202]
        again, _, _ = _send(hook.url, "pagerduty", monkeypatch, retries=2)
        assert again.delivered and again.attempts == 2
        hook.statuses = [400, 202]
        refused, _, delays = _send(hook.url, "pagerduty", monkeypatch, retries=2)
        assert not refused.delivered and refused.attempts == 1 and delays == [], "a 4xx is not retried"
    finally:
        hook.close()


def test_an_unreachable_endpoint_is_reported_not_raised(monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result, logs, delays = _send(f"http://127.0.0.1:{port}", "alertmanager", monkeypatch, retries=1, timeout=2.0)
    assert not result.delivered and result.attempts == 2 and len(delays) == 1
    assert "refused" in result.message.lower() and logs[-1].startswith("WARNING")


def test_settings_are_checked_and_off_when_empty():
    assert AlertConfig.from_params("", "") is None
    with pytest.raises(AlertConfigError, match="alert_format 'slack': use one of alertmanager, pagerduty, servicenow"):
        AlertConfig.from_params("https://hooks.example", "slack")
    with pytest.raises(AlertConfigError, match="alert_format ''"):
        AlertConfig.from_params("https://hooks.example", "")
    with pytest.raises(AlertConfigError, match="alert_webhook_url 'ftp://am.example/x'"):
        AlertConfig.from_params("ftp://user:pw@am.example/x?token=t", "alertmanager")
    with pytest.raises(AlertConfigError, match="alert_secret_env"):
        AlertConfig.from_params("https://am.example", "alertmanager", "s3cr3t-value!")
    with pytest.raises(ValueError, match="alert event must be one of"):
        Alert("deployed", "m", "s")
    assert notify("", "", "", _alert(ROLLED_BACK)).startswith("alerts off")
    logs = []
    assert notify("https://hooks.example", "slack", "", _alert(), logs.append).startswith("NOT delivered: alert_format")
    assert logs and logs[0].startswith("WARNING")

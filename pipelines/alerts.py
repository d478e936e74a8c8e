"""Alerts from the release path: a webhook notifier for Alertmanager, PagerDuty (Events API v2) or ServiceNow.

The pipeline steps send three events: ``retrain_started`` (the monitor started a training run), ``rolled_back`` (the
deploy step rolled a candidate back) and ``gate_rejected`` (the release gate refused a model). Configured by the
pipeline parameters ``alert_webhook_url`` and ``alert_format`` (both empty: no alerts) and ``alert_secret_env``, the
name of the environment variable holding the credential (PagerDuty routing key; ServiceNow ``user:password`` or a
bearer token; optional bearer token for Alertmanager). On a cluster that variable comes from a Kubernetes Secret.

Delivery never raises into the pipeline: a bounded number of retries with exponential backoff on connection
failures, timeouts, 429 and 5xx, then a clear log line and a result that says the alert was not delivered. The
credential never appears in a log line or a result. Standard library only (the steps carry it to the cluster).
"""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

FORMATS = ("alertmanager", "pagerduty", "servicenow")
RETRAIN_STARTED, ROLLED_BACK, GATE_REJECTED = "retrain_started", "rolled_back", "gate_rejected"
EVENTS = {RETRAIN_STARTED: "warning", ROLLED_BACK: "error", GATE_REJECTED: "error"}
"""Event -> severity (PagerDuty's vocabulary: critical, error, warning, info)."""
DEFAULT_SECRET_ENV = "MLOPS_ALERT_SECRET"
ALERTMANAGER_PATH = "/api/v2/alerts"
SERVICENOW_URGENCY = {"critical": "1", "error": "2", "warning": "3", "info": "3"}
RETRY_STATUS = (429, 500, 502, 503, 504)
MAX_BACKOFF = 10.0


class AlertConfigError(ValueError):
    """The alert settings cannot be used; the message names the parameter and what is allowed."""


@dataclass(frozen=True)
class AlertConfig:
    url: str
    format: str
    secret_env: str = DEFAULT_SECRET_ENV
    timeout: float = 5.0
    retries: int = 3
    backoff: float = 0.5

    @classmethod
    def from_params(cls, url: str, fmt: str, secret_env: str = DEFAULT_SECRET_ENV, **kw) -> AlertConfig | None:
        """None when alerts are off (both empty); raises :class:`AlertConfigError` on half or bad settings."""
        url, fmt = (url or "").strip(), (fmt or "").strip().lower()
        if not url and not fmt:
            return None
        if fmt not in FORMATS:
            raise AlertConfigError(
                f"alert_format {fmt!r}: use one of {', '.join(FORMATS)} (or leave both "
                "alert_format and alert_webhook_url empty for no alerts)"
            )
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise AlertConfigError(f"alert_webhook_url {redact_url(url)!r}: give an https:// URL of the {fmt} endpoint")
        if secret_env and not secret_env.replace("_", "").isalnum():
            raise AlertConfigError(
                f"alert_secret_env {secret_env!r}: the NAME of an environment variable "
                "(letters, digits, '_'), not its value"
            )
        return cls(url, fmt, secret_env or DEFAULT_SECRET_ENV, **kw)

    @property
    def endpoint(self) -> str:
        """Alertmanager's URL may be given as its base; the alerts API path is added when missing."""
        if self.format == "alertmanager" and not urlsplit(self.url).path.rstrip("/").endswith(ALERTMANAGER_PATH):
            return self.url.rstrip("/") + ALERTMANAGER_PATH
        return self.url


@dataclass
class Alert:
    event: str
    model: str
    summary: str
    details: dict = field(default_factory=dict)
    source: str = "mlops-pipeline"
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def __post_init__(self):
        if self.event not in EVENTS:
            raise ValueError(f"alert event must be one of {', '.join(EVENTS)}, got {self.event!r}")

    @property
    def severity(self) -> str:
        return EVENTS[self.event]


@dataclass(frozen=True)
class Delivery:
    delivered: bool
    message: str
    attempts: int = 0


def redact_url(url: str) -> str:
    """The URL without user info, query or fragment (tokens sometimes travel there)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def request_of(config: AlertConfig, alert: Alert, secret: str | None) -> tuple[object, dict]:
    """(JSON body, headers) for ``alert`` in ``config.format``."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    key = f"{alert.model}:{alert.event}:{alert.details.get('run_id') or alert.at}"  # receivers dedupe retries on it
    body: object
    if config.format == "alertmanager":
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
        name = "MLOps" + "".join(p.capitalize() for p in alert.event.split("_"))
        body = [
            {
                "labels": {
                    "alertname": name,
                    "severity": alert.severity,
                    "model": alert.model,
                    "event": alert.event,
                    "source": alert.source,
                },
                "annotations": {
                    "summary": alert.summary,
                    "description": json.dumps(alert.details, sort_keys=True, default=str),
                },
                "startsAt": alert.at,
            }
        ]
    elif config.format == "pagerduty":
        body = {
            "routing_key": secret,
            "event_action": "trigger",
            "dedup_key": key,
            "payload": {
                "summary": alert.summary[:1024],
                "severity": alert.severity,
                "source": alert.source,
                "component": alert.model,
                "group": "mlops",
                "class": alert.event,
                "timestamp": alert.at,
                "custom_details": alert.details,
            },
        }
    else:
        user, sep, password = (secret or "").partition(":")
        if sep:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        elif secret:
            headers["Authorization"] = f"Bearer {secret}"
        details = json.dumps(alert.details, indent=2, sort_keys=True, default=str)
        body = {
            "short_description": f"[{alert.model}] {alert.summary}"[:160],
            "description": f"{alert.summary}\n\n{details}",
            "urgency": SERVICENOW_URGENCY[alert.severity],
            "impact": "2",
            "category": "software",
            "correlation_id": key,
        }
    return body, headers


def send(config: AlertConfig, alert: Alert, log=print, sleep=time.sleep) -> Delivery:
    """POST ``alert``; retries transient failures (bounded), never raises, never logs the credential."""
    secret = os.environ.get(config.secret_env, "").strip() or None
    where = f"{config.format} at {redact_url(config.endpoint)}"
    if config.format == "pagerduty" and not secret:
        return _failed(
            log,
            f"alert {alert.event} NOT delivered to {where}: the PagerDuty routing key is missing "
            f"(set the environment variable {config.secret_env}, from the alerting Secret)",
            0,
        )
    body, headers = request_of(config, alert, secret)
    data = json.dumps(body).encode()
    last = ""
    for attempt in range(1, config.retries + 2):
        status, detail = _post(config.endpoint, data, headers, config.timeout)
        if status is not None and 200 <= status < 300:
            log(f"alert {alert.event} delivered to {where} ({status})")
            return Delivery(True, f"delivered to {where}", attempt)
        last = _scrub(f"HTTP {status}: {detail}" if status is not None else detail, secret)
        if status is not None and status not in RETRY_STATUS:
            break
        if attempt <= config.retries:
            sleep(min(MAX_BACKOFF, config.backoff * 2 ** (attempt - 1)))
    return _failed(log, f"alert {alert.event} NOT delivered to {where} after {attempt} attempt(s): {last}", attempt)


def _failed(log, message: str, attempts: int) -> Delivery:
    log(f"WARNING: {message}")
    return Delivery(False, message, attempts)


def _post(url: str, data: bytes, headers: dict, timeout: float) -> tuple[int | None, str]:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(300).decode(errors="replace").strip()
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return None, str(getattr(exc, "reason", exc))


def _scrub(text: str, secret: str | None) -> str:
    text = " ".join(text.split())[:300]
    return text.replace(secret, "***") if secret else text


def notify(url: str, fmt: str, secret_env: str, alert: Alert, log=print, sleep=time.sleep) -> str:
    """What a pipeline step calls: one line for its output (``alerts off``, ``delivered ...``, ``NOT delivered ...``).

    A bad configuration is reported the same way as a failed delivery: the step's real work must not fail on it.
    """
    try:
        config = AlertConfig.from_params(url, fmt, secret_env)
    except AlertConfigError as exc:
        log(f"WARNING: alert {alert.event} NOT delivered: {exc}")
        return f"NOT delivered: {exc}"
    if config is None:
        return "alerts off (no alert_webhook_url/alert_format)"
    result = send(config, alert, log, sleep)
    return result.message

"""``mlops serve``: the registry's deployed versions over KServe's Open Inference Protocol (v2 REST).

An ASGI app (Starlette) under uvicorn, as KServe's own Python runtime serves: the event loop reads requests with a
body-read timeout and a size limit, predictions (CPU-bound torch calls) and registry reads run in a thread pool, the
listen backlog and the number of connections are bounded. Routes:

- ``GET  /v2/health/live``, ``GET /v2/health/ready``
- ``GET  /v2/models/{name}`` (metadata), ``GET /v2/models/{name}/ready``, same under ``/versions/{version}``
- ``POST /v2/models/{name}/infer``: stable/candidate split by the registry's weights, deterministic per request id
- ``POST /v2/models/{name}/versions/{version}/infer``: one version, whatever its traffic share
- ``GET  /v2/models/{name}/stats?since=EPOCH``: per-version requests, errors and latency (extension; the canary check)

Every inference request is appended to a JSON-lines log rotated by size (:class:`RequestLog`): version, outcome,
latency, the caller (:func:`caller_identity`) and the inputs without personal data (:meth:`ServingApp.logged_inputs`),
which the drift monitor reads.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import math
import os
import secrets
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Protocol

from pipelines.features.schema import ENTITY_KEY
from pipelines.registry import ModelVersion, RegistryError, ServingState
from pipelines.serving.predictor import (
    DECISION_NAME,
    OUTPUT_NAME,
    BadRequest,
    OnlineFeatures,
    VersionPredictor,
    request_frame,
)
from pipelines.serving.rollout import WindowStats, routes_to_candidate

STATS_WINDOW = 50_000
"""Requests kept in memory per version for the stats endpoint."""
LOG_KEY_ENV = "MLOPS_REQUEST_LOG_KEY"
"""Secret for the keyed hash that replaces applicant ids in the request log. Set it (the same value on every replica)
to link one applicant's requests across restarts; unset, each process draws a random key, so its hashes link
requests within that process only."""
DEFAULT_LOG_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_LOG_BACKUPS = 5
PSEUDONYM = f"{ENTITY_KEY}_hmac"
"""Request-log column that holds the keyed hash of each applicant id (the id itself is never written)."""


@dataclass(frozen=True)
class ServerLimits:
    """What one client may hold: bounded backlog, connections, body size and the time to send a body."""

    backlog: int = 2048
    max_connections: int = 1000
    """Connections (and in-flight requests) at once; past it new requests get 503."""
    max_body_bytes: int = 8 * 1024 * 1024
    body_timeout_s: float = 5.0
    """A client that declares a body and does not send it within this time gets 408 and the connection closes."""
    keep_alive_s: int = 5
    graceful_shutdown_s: int = 10
    prediction_threads: int = 4
    """Threads running predictions at once: each version predicts under a lock and the work is CPU-bound, so more
    threads only contend for the interpreter; requests past this wait on the event loop."""


def sensitive_fields() -> frozenset[str]:
    """Schema fields flagged as personal/protected attributes (``Field.sensitive``): never written to the request log."""
    from pipelines.features import schema

    return frozenset(schema.SENSITIVE_ATTRIBUTES)


def caller_identity(headers: Mapping[str, str], address: str | None) -> dict:
    """Who sent a request, for the request log: the client address, the user an auth proxy vouches for
    (``X-Forwarded-User`` / ``X-Auth-Request-User``) and a SHA-256 prefix of a bearer token (never the token)."""
    caller = {"address": address} if address else {}
    user = headers.get("x-forwarded-user") or headers.get("x-auth-request-user")
    if user:
        caller["user"] = user[:256]
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        caller["token_sha256"] = hashlib.sha256(token.strip().encode()).hexdigest()[:16]
    return caller


class RequestLog:
    """JSON lines, rotated by size: ``path`` holds at most ``max_bytes``, then becomes ``path.1`` (older ones shift
    up to ``path.<backups>``, the oldest is deleted). A path that is not a regular file (``/dev/stdout``) never
    rotates."""

    def __init__(self, path: Path | str, max_bytes: int = DEFAULT_LOG_MAX_BYTES, backups: int = DEFAULT_LOG_BACKUPS):
        if max_bytes < 1 or backups < 1:
            raise ValueError(f"the request log needs max_bytes >= 1 and backups >= 1, got {max_bytes}, {backups}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handler = RotatingFileHandler(self.path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self._handler.setFormatter(logging.Formatter("%(message)s"))

    def write(self, entry: dict) -> None:
        self._handler.handle(logging.makeLogRecord({"msg": json.dumps(entry)}))  # the handler locks and rotates


def parse_json_body(raw: bytes) -> dict:
    """The request body as a JSON object; NaN, Infinity and numbers too large for a float are refused, naming where
    they are (Python's parser would accept them and the answer would carry NaN)."""
    try:
        body = json.loads(raw or b"{}", parse_constant=_NonFinite, parse_float=_finite_float)
    except ValueError as exc:
        raise BadRequest(f"invalid JSON body: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("invalid JSON body: it must be a JSON object")
    where = _non_finite_path(body, "")
    if where:
        raise BadRequest(f"invalid JSON body: {where} is not a finite number (JSON numbers must be finite)")
    return body


class _NonFinite(str):
    """A NaN/Infinity literal (or an overflowing number) kept as its text until the body is checked."""


def _finite_float(text: str) -> float | _NonFinite:
    value = float(text)
    return value if math.isfinite(value) else _NonFinite(text)


def _non_finite_path(value, path: str) -> str:
    """The first non-finite number and where it sits, e.g. ``Infinity at inputs[1].data[0] (input annual_income)``;
    "" when there is none."""
    if isinstance(value, _NonFinite):
        return f"{value} at {path or 'the top level'}"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _non_finite_path(item, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}".lstrip("."))
        if found:
            if path == "inputs" and isinstance(item, dict) and isinstance(item.get("name"), str):
                return f"{found} (input {item['name']})"
            return found
    return ""


class ServedModels(Protocol):
    """The registry view :class:`ServingApp` reads: :class:`pipelines.registry.LocalRegistry` (``mlops serve``) or
    :class:`pipelines.serving.runtime.DirectoryModel` (one version on a cluster). ``verify`` must check the bytes
    still hash to the recorded sha256: the server never loads changed bytes."""

    def mtime(self) -> float: ...

    def load(self) -> dict: ...

    def state(self, name: str, index: dict | None = None) -> ServingState: ...

    def verify(self, name: str, version: str) -> ModelVersion: ...


class ServingApp:
    """Routing, predictions, stats and the request log, independent of HTTP (tests call it directly too)."""

    def __init__(
        self,
        registry: ServedModels,
        request_log: Path | str,
        feature_repo: Path | str | None = None,
        log_max_bytes: int = DEFAULT_LOG_MAX_BYTES,
        log_backups: int = DEFAULT_LOG_BACKUPS,
    ):
        self.registry = registry
        self.request_log = Path(request_log)
        self._log = RequestLog(self.request_log, log_max_bytes, log_backups)
        self._log_key = os.environ.get(LOG_KEY_ENV, "").encode() or secrets.token_bytes(32)
        self._sensitive = sensitive_fields()
        self.features = OnlineFeatures(feature_repo) if feature_repo else None
        self._predictors: dict[tuple[str, str], VersionPredictor] = {}
        self._calls: dict[tuple[str, str], deque] = {}
        self._index: dict = {"models": {}}
        self._index_mtime: float | None = None
        self._lock = threading.Lock()
        self._stats_lock = threading.Lock()  # handler threads append while the stats endpoint reads

    # --- registry view ------------------------------------------------------------------------------------------
    def index(self) -> dict:
        """The registry index, re-read when a deploy changed it (one stat per request)."""
        mtime = self.registry.mtime()
        if mtime != self._index_mtime:
            with self._lock:
                self._index, self._index_mtime = self.registry.load(), mtime
        return self._index

    def served_versions(self, name: str) -> dict[str, int]:
        model = self.index()["models"].get(name)
        if model is None:
            raise LookupError(f"model {name!r} is not deployed")
        return self.registry.state(name, self._index).weights

    def predictor(self, name: str, version: str) -> VersionPredictor:
        key = (name, version)
        if key not in self._predictors:
            with self._lock:
                if key not in self._predictors:
                    mv = self.registry.verify(name, version)  # refuse to serve bytes that changed
                    self._predictors[key] = VersionPredictor(mv.artifact)
        return self._predictors[key]

    def warm(self) -> None:
        """Load every version that takes traffic (and the Feast store), so first requests are not slow."""
        for name in self.index()["models"]:
            for version in self.served_versions(name):
                self.predictor(name, version)
        if self.features is not None:
            self.features.warm()

    def ready(self, name: str | None = None, version: str | None = None) -> bool:
        names = [name] if name else list(self.index()["models"])
        try:
            for n in names:
                versions = [version] if version else list(self.served_versions(n))
                if not versions:
                    return False
                for v in versions:
                    if (n, v) not in self._predictors:
                        self.predictor(n, v)
        except (LookupError, RegistryError, OSError):
            return False
        return True

    def metadata(self, name: str, version: str | None = None) -> dict:
        weights = self.served_versions(name)
        versions = list(self.index()["models"][name]["versions"])
        if version is not None and version not in versions:
            raise LookupError(f"model {name!r} has no version {version!r}")
        shown = version or next(iter(weights), None)
        inputs = self.predictor(name, shown).metadata_inputs() if shown else []
        return {
            "name": name,
            "versions": versions,
            "platform": "pytorch",
            "inputs": inputs,
            "outputs": [
                {"name": OUTPUT_NAME, "datatype": "FP32", "shape": [-1]},
                {"name": DECISION_NAME, "datatype": "INT8", "shape": [-1]},
            ],
            "parameters": {"traffic": weights},
        }

    # --- inference ----------------------------------------------------------------------------------------------
    def choose_version(self, name: str, request_id: str) -> tuple[str, str]:
        state = self.registry.state(name, self.index())
        if state.stable is None and state.candidate is None:
            raise LookupError(f"model {name!r} has no deployed version")
        if state.candidate and (state.stable is None or routes_to_candidate(request_id, state.candidate_percent)):
            return state.candidate, "candidate"
        assert state.stable is not None  # neither None (refused above) and no candidate taken: the stable version
        return state.stable, "stable"

    def infer(
        self,
        name: str,
        body: dict,
        request_id: str | None = None,
        version: str | None = None,
        caller: dict | None = None,
    ) -> tuple[int, dict]:
        """One inference request: (HTTP status, answer). Only requests that reached a deployed version count in
        its stats; a 404 (no such model or version) is logged without a version, so it is nobody's traffic."""
        started = time.perf_counter()
        request_id = str(body.get("id") or request_id or uuid.uuid4())
        route, served, frame = "pinned", None, None
        try:
            if version is None:
                self.served_versions(name)
                version, route = self.choose_version(name, request_id)
            elif version not in self.index()["models"].get(name, {}).get("versions", {}):
                raise LookupError(f"model {name!r} has no version {version!r}")
            served = version
            predictor = self.predictor(name, version)
            frame = request_frame(body.get("inputs"), self.features)
            probabilities = predictor.predict(frame)
            declined = predictor.decide(frame, probabilities)
            outputs = [{"name": OUTPUT_NAME, "datatype": "FP32", "shape": [len(probabilities)], "data": probabilities}]
            if declined is None:
                parameters = {
                    "decision": f"not made: send {', '.join(predictor.decisions.attributes)} (or "
                    "applicant_id) for this version's decision thresholds"
                }
            else:
                outputs.append({"name": DECISION_NAME, "datatype": "INT8", "shape": [len(declined)], "data": declined})
                parameters = {}
            status, payload = (
                200,
                {
                    "model_name": name,
                    "model_version": version,
                    "id": request_id,
                    "outputs": outputs,
                    **({"parameters": parameters} if parameters else {}),
                },
            )
        except BadRequest as exc:
            status, payload = 400, {"error": str(exc)}
        except LookupError as exc:
            status, payload = 404, {"error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - a failed prediction is a 500 for this request, counted as an error
            status, payload = 500, {"error": f"{type(exc).__name__}: {exc}"}
        latency_ms = (time.perf_counter() - started) * 1000
        self._record(name, served, route, request_id, status, latency_ms, frame, payload, caller or {})
        return status, payload

    def logged_inputs(self, frame) -> dict[str, list]:
        """The inputs as the request log keeps them: sensitive attributes dropped, applicant ids replaced by a keyed
        hash (HMAC-SHA256 with :data:`LOG_KEY_ENV`, 16 hex digits) under :data:`PSEUDONYM`."""
        inputs = {column: frame[column].tolist() for column in frame.columns if column not in self._sensitive}
        if ENTITY_KEY in inputs:
            inputs[PSEUDONYM] = [
                hmac.new(self._log_key, str(int(i)).encode(), hashlib.sha256).hexdigest()[:16]
                for i in inputs.pop(ENTITY_KEY)
            ]
        return inputs

    def _record(self, name, version, route, request_id, status, latency_ms, frame, payload, caller) -> None:
        now = time.time()
        if version is not None:
            with self._stats_lock:
                self._calls.setdefault((name, version), deque(maxlen=STATS_WINDOW)).append((now, status, latency_ms))
        entry = {
            "ts": now,
            "model": name,
            "version": version,
            "route": route,
            "id": request_id,
            "status": status,
            "latency_ms": round(latency_ms, 3),
            "caller": caller,
        }
        if frame is not None:
            entry["inputs"] = self.logged_inputs(frame)
        if status == 200:
            entry["outputs"] = payload["outputs"][0]["data"]
        else:
            entry["error"] = payload.get("error")
        self._log.write(entry)

    def stats(self, name: str, since: float = 0.0) -> dict[str, dict]:
        """Per version: requests, errors (5xx) and latencies since ``since`` (epoch seconds)."""
        with self._stats_lock:
            snapshot = {key: list(calls) for key, calls in self._calls.items() if key[0] == name}
        out = {}
        for (_, version), calls in snapshot.items():
            window = [c for c in calls if c[0] >= since]
            stats = WindowStats.from_calls([c[1] for c in window], [c[2] for c in window])
            out[version] = {**stats.to_dict(), "client_errors": sum(1 for c in window if 400 <= c[1] < 500)}
        return out


def asgi_app(app: ServingApp, limits: ServerLimits = ServerLimits()):
    """The OIP v2 routes over ``app`` as a Starlette application (answers are JSON, errors ``{"error": ...}``)."""
    import anyio
    import anyio.to_thread
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.responses import Response
    from starlette.routing import Route

    predictions = anyio.CapacityLimiter(limits.prediction_threads)

    def answer(status: int, payload: dict, close: bool = False) -> Response:
        headers = {"X-Model-Version": payload["model_version"]} if "model_version" in payload else {}
        if close:  # the rest of the body was never read: this connection cannot carry another request
            headers["Connection"] = "close"
        return Response(json.dumps(payload, allow_nan=False), status, headers, media_type="application/json")

    async def live(_request):
        return answer(200, {"live": True})

    async def ready_all(_request):
        ready = await run_in_threadpool(app.ready)
        return answer(200 if ready else 503, {"ready": ready})

    async def model_ready(request):
        name, version = request.path_params["name"], request.path_params.get("version")
        ready = await run_in_threadpool(app.ready, name, version)
        return answer(200 if ready else 503, {"name": name, "ready": ready})

    async def metadata(request):
        name, version = request.path_params["name"], request.path_params.get("version")
        try:
            return answer(200, await run_in_threadpool(app.metadata, name, version))
        except (LookupError, RegistryError) as exc:
            return answer(404, {"error": str(exc)})

    async def stats(request):
        try:
            since = float(request.query_params.get("since", "0"))
        except ValueError:
            return answer(400, {"error": f"since must be epoch seconds, got {request.query_params['since']!r}"})
        name = request.path_params["name"]
        return answer(200, {"name": name, "versions": await run_in_threadpool(app.stats, name, since)})

    async def read_body(request) -> bytes | Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limits.max_body_bytes:
            return answer(413, {"error": f"request body over {limits.max_body_bytes} bytes"}, close=True)
        chunks, size = [], 0
        try:
            with anyio.fail_after(limits.body_timeout_s):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limits.max_body_bytes:
                        return answer(413, {"error": f"request body over {limits.max_body_bytes} bytes"}, close=True)
                    chunks.append(chunk)
        except TimeoutError:
            return answer(408, {"error": f"request body not received within {limits.body_timeout_s} s"}, close=True)
        return b"".join(chunks)

    async def infer(request):
        raw = await read_body(request)
        if isinstance(raw, Response):
            return raw
        try:
            body = parse_json_body(raw)
        except BadRequest as exc:
            return answer(400, {"error": str(exc)})
        caller = caller_identity(request.headers, request.client.host if request.client else None)
        call = functools.partial(
            app.infer,
            request.path_params["name"],
            body,
            request.headers.get("x-request-id"),
            request.path_params.get("version"),
            caller,
        )
        status, payload = await anyio.to_thread.run_sync(call, limiter=predictions)
        return answer(status, payload)

    async def http_error(request, exc: HTTPException):
        message = f"no route {request.method} {request.url.path}" if exc.status_code in (404, 405) else exc.detail
        return answer(exc.status_code, {"error": message})

    model, version = "/v2/models/{name}", "/v2/models/{name}/versions/{version}"
    routes = [
        Route("/v2/health/live", live),
        Route("/v2/health/ready", ready_all),
        Route(model, metadata),
        Route(version, metadata),
        Route(f"{model}/ready", model_ready),
        Route(f"{version}/ready", model_ready),
        Route(f"{model}/stats", stats),
        Route(f"{model}/infer", infer, methods=["POST"]),
        Route(f"{version}/infer", infer, methods=["POST"]),
    ]
    # Starlette types every handler as taking any Exception, so one typed for the exception it is registered for is
    # refused (Callable is contravariant; starlette issue #1142, unfixed as of 1.10.0)
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error})  # type: ignore[dict-item]


class ModelServer:
    """uvicorn serving :func:`asgi_app` on a socket bound here (a busy port fails at once; port 0 picks one).

    ``serve_forever`` blocks; on the main thread SIGINT/SIGTERM stop it gracefully (in-flight requests finish,
    then the signal's own handler runs). ``shutdown`` stops it from another thread; ``server_close`` frees the port.
    """

    def __init__(
        self, app: ServingApp, host: str = "127.0.0.1", port: int = 8080, limits: ServerLimits = ServerLimits()
    ):
        import uvicorn

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.create_server((host, port), family=family, backlog=limits.backlog)
        self.app = app
        config = uvicorn.Config(
            asgi_app(app, limits),
            backlog=limits.backlog,
            limit_concurrency=limits.max_connections,
            timeout_keep_alive=limits.keep_alive_s,
            timeout_graceful_shutdown=limits.graceful_shutdown_s,
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        self._serving, self._stopped = threading.Event(), threading.Event()

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def started(self) -> bool:
        return self._server.started

    def serve_forever(self) -> None:
        self._serving.set()
        try:
            self._server.run(sockets=[self.socket])
        finally:
            self._stopped.set()

    def shutdown(self, timeout: float = 30.0) -> None:
        self._server.should_exit = True
        if self._serving.is_set():
            self._stopped.wait(timeout)

    def server_close(self) -> None:
        self.socket.close()


def start_in_background(
    app: ServingApp, host: str = "127.0.0.1", port: int = 0, limits: ServerLimits = ServerLimits()
) -> tuple[ModelServer, threading.Thread]:
    """Serve on a thread (port 0: an ephemeral port), returning once it accepts requests; stop with
    ``server.shutdown(); server.server_close()``."""
    server = ModelServer(app, host, port, limits)
    thread = threading.Thread(target=server.serve_forever, name="mlops-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.shutdown(1)
            server.server_close()
            raise RuntimeError(f"the model server on {server.url} did not start")
        time.sleep(0.01)
    return server, thread

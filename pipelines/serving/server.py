"""``mlops serve``: the registry's deployed versions over KServe's Open Inference Protocol (v2 REST).

Standard-library ``ThreadingHTTPServer`` (starts in milliseconds; torch and Feast load on first use). Routes:

- ``GET  /v2/health/live``, ``GET /v2/health/ready``
- ``GET  /v2/models/{name}`` (metadata), ``GET /v2/models/{name}/ready``, same under ``/versions/{version}``
- ``POST /v2/models/{name}/infer``: stable/candidate split by the registry's weights, deterministic per request id
- ``POST /v2/models/{name}/versions/{version}/infer``: one version, whatever its traffic share
- ``GET  /v2/models/{name}/stats?since=EPOCH``: per-version requests, errors and latency (extension; the canary check)

Every request is appended to a JSON-lines log (inputs, version, outcome, latency) that monitoring reads.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from pipelines.registry import LocalRegistry, RegistryError
from pipelines.serving.predictor import OUTPUT_NAME, BadRequest, OnlineFeatures, VersionPredictor, request_frame
from pipelines.serving.rollout import WindowStats, routes_to_candidate

MAX_BODY = 8 * 1024 * 1024
STATS_WINDOW = 50_000
"""Requests kept in memory per version for the stats endpoint."""
_MODEL = re.compile(r"^/v2/models/([^/]+)(?:/versions/([^/]+))?(/ready|/infer|/stats)?/?$")


class ServingApp:
    """Routing, predictions, stats and the request log, independent of HTTP (tests call it directly too)."""

    def __init__(self, registry: LocalRegistry, request_log: Path | str, feature_repo: Path | str | None = None):
        self.registry = registry
        self.request_log = Path(request_log)
        self.request_log.parent.mkdir(parents=True, exist_ok=True)
        self.features = OnlineFeatures(feature_repo) if feature_repo else None
        self._predictors: dict[tuple[str, str], VersionPredictor] = {}
        self._calls: dict[tuple[str, str], deque] = {}
        self._index, self._index_mtime = {"models": {}}, None
        self._lock = threading.Lock()
        self._log_lock = threading.Lock()
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
        return {"name": name, "versions": versions, "platform": "pytorch",
                "inputs": inputs, "outputs": [{"name": OUTPUT_NAME, "datatype": "FP32", "shape": [-1]}],
                "parameters": {"traffic": weights}}

    # --- inference ----------------------------------------------------------------------------------------------
    def choose_version(self, name: str, request_id: str) -> tuple[str, str]:
        state = self.registry.state(name, self.index())
        if state.stable is None and state.candidate is None:
            raise LookupError(f"model {name!r} has no deployed version")
        if state.candidate and (state.stable is None or routes_to_candidate(request_id, state.candidate_percent)):
            return state.candidate, "candidate"
        return state.stable, "stable"

    def infer(self, name: str, body: dict, request_id: str | None = None,
              version: str | None = None) -> tuple[int, dict]:
        started = time.perf_counter()
        request_id = str(body.get("id") or request_id or uuid.uuid4())
        route = "pinned"
        frame = None
        try:
            if version is None:
                self.served_versions(name)
                version, route = self.choose_version(name, request_id)
            elif version not in self.index()["models"].get(name, {}).get("versions", {}):
                raise LookupError(f"model {name!r} has no version {version!r}")
            predictor = self.predictor(name, version)
            frame = request_frame(body.get("inputs"), self.features)
            probabilities = predictor.predict(frame)
            status, payload = 200, {"model_name": name, "model_version": version, "id": request_id,
                                    "outputs": [{"name": OUTPUT_NAME, "datatype": "FP32", "shape": [len(probabilities)],
                                                 "data": probabilities}]}
        except BadRequest as exc:
            status, payload = 400, {"error": str(exc)}
        except LookupError as exc:
            status, payload = 404, {"error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - a failed prediction is a 500 for this request, counted as an error
            status, payload = 500, {"error": f"{type(exc).__name__}: {exc}"}
        latency_ms = (time.perf_counter() - started) * 1000
        if version is not None:
            self._record(name, version, route, request_id, status, latency_ms, frame, payload)
        return status, payload

    def _record(self, name, version, route, request_id, status, latency_ms, frame, payload) -> None:
        now = time.time()
        with self._stats_lock:
            self._calls.setdefault((name, version), deque(maxlen=STATS_WINDOW)).append((now, status, latency_ms))
        entry = {"ts": now, "model": name, "version": version, "route": route, "id": request_id, "status": status,
                 "latency_ms": round(latency_ms, 3)}
        if frame is not None:
            entry["inputs"] = frame.to_dict("list")
        if status == 200:
            entry["outputs"] = payload["outputs"][0]["data"]
        else:
            entry["error"] = payload.get("error")
        line = json.dumps(entry) + "\n"
        with self._log_lock, open(self.request_log, "a") as fh:
            fh.write(line)

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


class _Handler(BaseHTTPRequestHandler):
    server_version = "mlops-serve/1"
    app: ServingApp

    def log_message(self, fmt, *args):  # the request log is the record; keep the console quiet
        pass

    def _send(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if "model_version" in payload:
            self.send_header("X-Model-Version", payload["model_version"])
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/v2/health/live":
            return self._send(200, {"live": True})
        if url.path == "/v2/health/ready":
            ready = self.app.ready()
            return self._send(200 if ready else 503, {"ready": ready})
        match = _MODEL.match(url.path)
        if not match or match.group(3) == "/infer":
            return self._send(404, {"error": f"no route GET {url.path}"})
        name, version, action = match.groups()
        try:
            if action == "/ready":
                ready = self.app.ready(name, version)
                return self._send(200 if ready else 503, {"name": name, "ready": ready})
            if action == "/stats":
                since = float(parse_qs(url.query).get("since", ["0"])[0])
                return self._send(200, {"name": name, "versions": self.app.stats(name, since)})
            return self._send(200, self.app.metadata(name, version))
        except (LookupError, RegistryError) as exc:
            return self._send(404, {"error": str(exc)})
        except ValueError as exc:
            return self._send(400, {"error": str(exc)})

    def do_POST(self):
        url = urlparse(self.path)
        match = _MODEL.match(url.path)
        if not match or match.group(3) != "/infer":
            return self._send(404, {"error": f"no route POST {url.path}"})
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self._send(413, {"error": f"request body over {MAX_BODY} bytes"})
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(body, dict):
                raise TypeError("the body must be a JSON object")
        except (ValueError, TypeError) as exc:
            return self._send(400, {"error": f"invalid JSON body: {exc}"})
        name, version, _ = match.groups()
        status, payload = self.app.infer(name, body, self.headers.get("X-Request-Id"), version)
        return self._send(status, payload)


class ModelServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, app: ServingApp, host: str = "127.0.0.1", port: int = 8080):
        handler = type("Handler", (_Handler,), {"app": app})
        super().__init__((host, port), handler)
        self.app = app

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def start_in_background(app: ServingApp, host: str = "127.0.0.1",
                        port: int = 0) -> tuple[ModelServer, threading.Thread]:
    """Serve on a thread (port 0: an ephemeral port); stop with ``server.shutdown(); server.server_close()``."""
    server = ModelServer(app, host, port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="mlops-serve",
                              daemon=True)
    thread.start()
    return server, thread

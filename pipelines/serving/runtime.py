"""The KServe model-server entrypoint: one model version, from the directory KServe's storage initializer fills,
over the Open Inference Protocol v2 (REST), with the same routes and answers as ``mlops serve``.

The ServingRuntime ``mlops-credit-risk-oip`` (``components/services/kserve.py``) runs::

    python -m pipelines.serving.runtime --model-dir /mnt/models --model-name NAME --http-port 8080

The routing, validation, predictions and stats are :class:`pipelines.serving.server.ServingApp`'s; this module only
replaces the local registry with :class:`DirectoryModel`, a registry view of exactly one version that takes all
traffic (KServe splits traffic between revisions, each revision serves one version). The deploy step sets
``MLOPS_MODEL_VERSION`` and ``MLOPS_MODEL_SHA256`` on the InferenceService; the server refuses to start on bytes that
do not hash to that sha256, and loads the model before it opens its port, so "port open" means "ready".
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from pipelines.registry import ModelVersion, RegistryError, ServingState, artifact_sha256

VERSION_ENV = "MLOPS_MODEL_VERSION"
SHA256_ENV = "MLOPS_MODEL_SHA256"
DEFAULT_REQUEST_LOG = "/dev/stdout"
"""Request records go to the container log (the root file system is read-only; the cluster collects stdout)."""


@dataclass(frozen=True)
class DirectoryModel:
    """The registry interface :class:`ServingApp` reads, over one model directory serving one version."""

    name: str
    version: str
    model_dir: Path
    sha256: str

    @classmethod
    def open(cls, name: str, model_dir: Path | str, version: str = "", expected_sha256: str = "") -> DirectoryModel:
        """Hash the directory; refuse it when ``expected_sha256`` is given and differs (RegistryError)."""
        model_dir = Path(model_dir)
        actual = artifact_sha256(model_dir)
        if expected_sha256 and actual != expected_sha256:
            raise RegistryError(
                f"{model_dir} hashes to {actual}, the deployment expects {expected_sha256} "
                f"({SHA256_ENV}); refusing to serve other bytes"
            )
        return cls(name, version or f"sha256-{actual[:12]}", model_dir, actual)

    def mtime(self) -> int:
        return 0

    def load(self) -> dict:
        return {"models": {self.name: {"versions": {self.version: {"sha256": self.sha256}}}}}

    def state(self, name: str, index: dict | None = None) -> ServingState:
        if name != self.name:
            raise LookupError(f"model {name!r} is not served here (this server serves {self.name!r})")
        return ServingState(name, self.version, None, 0, None)

    def verify(self, name: str, version: str) -> ModelVersion:
        """The version, after checking the directory still hashes to the sha256 it was opened with (as
        ``LocalRegistry.verify`` does: the server never loads bytes that changed under it)."""
        self.state(name)
        if version != self.version:
            raise LookupError(f"model {name!r} has no version {version!r}")
        actual = artifact_sha256(self.model_dir)
        if actual != self.sha256:
            raise RegistryError(
                f"{self.model_dir} now hashes to {actual}, it was opened as {self.sha256}; "
                "refusing to serve other bytes"
            )
        return ModelVersion(name, version, self.sha256, self.model_dir, "", {})


def build_app(
    model_name: str,
    model_dir: Path | str,
    version: str = "",
    expected_sha256: str = "",
    request_log: str = DEFAULT_REQUEST_LOG,
    **log_limits,
):
    """A loaded :class:`ServingApp` for one version (the model is loaded here, before any port opens).

    ``log_limits``: ``log_max_bytes`` and ``log_backups`` of a request log file (``/dev/stdout`` never rotates)."""
    from pipelines.serving.server import ServingApp

    model = DirectoryModel.open(model_name, model_dir, version, expected_sha256)
    app = ServingApp(model, request_log, **log_limits)
    app.warm()
    return app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipelines.serving.runtime", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--model-dir", default="/mnt/models", help="the model version's files (model.pt, preprocessor.json)"
    )
    parser.add_argument("--model-name", required=True, help="the InferenceService's name (the OIP model name)")
    parser.add_argument(
        "--model-version",
        default=os.environ.get(VERSION_ENV, ""),
        help=f"version reported in answers (default ${VERSION_ENV}, else sha256-<prefix>)",
    )
    parser.add_argument(
        "--expected-sha256",
        default=os.environ.get(SHA256_ENV, ""),
        help=f"refuse a directory with other bytes (default ${SHA256_ENV})",
    )
    parser.add_argument("--http-port", type=int, default=8080)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--request-log", default=DEFAULT_REQUEST_LOG)
    parser.add_argument("--request-log-max-mb", type=int, default=50, help="rotate a request log file past this size")
    parser.add_argument("--request-log-backups", type=int, default=5, help="rotated request log files kept")
    return parser.parse_args(argv)


def _stop(*_) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from pipelines.serving.server import ModelServer

    try:
        app = build_app(
            args.model_name,
            args.model_dir,
            args.model_version,
            args.expected_sha256,
            args.request_log,
            log_max_bytes=args.request_log_max_mb * 1024 * 1024,
            log_backups=args.request_log_backups,
        )
    except (RegistryError, OSError, RuntimeError, ValueError, KeyError) as exc:
        print(f"model server: cannot load {args.model_name} from {args.model_dir}: {exc}", file=sys.stderr)
        return 1
    try:
        server = ModelServer(app, args.host, args.http_port)
    except OSError as exc:
        print(f"model server: cannot listen on {args.host}:{args.http_port}: {exc.strerror}", file=sys.stderr)
        return 1
    # the kubelet's stop: uvicorn finishes in-flight requests, then this handler ends the process with status 0
    signal.signal(signal.SIGTERM, _stop)
    print(
        f"model server: {args.model_name} {app.registry.version} (sha256 {app.registry.sha256}) on {server.url}",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

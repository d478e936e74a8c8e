"""Deploy to the local registry and serving process with the same rollout logic as the cluster.

Register the version (immutable), make it the candidate (canary: a share of live traffic; blue-green: none until the
switch), drive health-check traffic through the serving process, read the server's per-version counts for the window
and promote or roll back. Uses a running ``mlops serve`` when ``server_url`` is given, else starts one in-process.

The rollout is this process's lease in the registry: it waits (bounded) while another run's rollout is live, and a
SIGTERM or SIGINT while it holds the lease withdraws the candidate and records the outcome ``interrupted`` before the
process exits non-zero (a SIGKILL leaves the lease to the next deploy or server start, which withdraws it).
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.registry import AlreadyStable, LocalRegistry, RegistryError, rollout_owner
from pipelines.serving.probe import get_json, infer_body, post_json, send_probes
from pipelines.serving.rollout import PROMOTE, HealthPolicy, Verdict, WindowStats, check_strategy, judge

MAX_PROBE_FACTOR = 10
"""Stop driving canary traffic after this many times the expected number of requests."""
LEASE_WAIT_SECONDS = 900.0
"""How long a deploy waits for another run's rollout of the same model to finish before it is refused."""


class RolloutInterrupted(BaseException):
    """SIGTERM or SIGINT arrived during a rollout; the candidate was withdrawn. A BaseException, like
    KeyboardInterrupt, so that no ``except Exception`` on the way mistakes it for a failed health check."""

    def __init__(self, signum: int):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


@contextlib.contextmanager
def _interruptible():
    """Turn SIGTERM and SIGINT into :class:`RolloutInterrupted` for the duration (main thread only: elsewhere Python
    cannot install handlers, and the caller's own handling applies)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, _frame):
        raise RolloutInterrupted(signum)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass
class Rollout:
    """One deployment: what to deploy and how to judge it."""

    model_name: str
    version: str
    strategy: str = "canary"
    canary_percent: int = 10
    policy: HealthPolicy = field(default_factory=HealthPolicy)
    probe_rows: list[dict] = field(default_factory=list)
    window_seconds: float = 0.0
    run_id: str = ""
    lease_wait_seconds: float = LEASE_WAIT_SECONDS

    def __post_init__(self):
        check_strategy(self.strategy, self.canary_percent)


def outcome_of(rollout: Rollout, verdict: Verdict | None, restored: str | None, target: str, **extra) -> dict:
    """The deployment outcome recorded in the lineage (and returned by the deploy step)."""
    if verdict is None:
        result = "unchanged"
    else:
        result = "promoted" if verdict.healthy else "rolled_back"
    out = {
        "outcome": result,
        "version": rollout.version,
        "strategy": rollout.strategy,
        "canary_percent": rollout.canary_percent if rollout.strategy == "canary" else 0,
        "target": target,
    }
    if verdict is not None:
        out.update(reasons=list(verdict.reasons), candidate=verdict.candidate, stable=verdict.stable)
    if result == "rolled_back":
        out["restored"] = restored
    return {**out, **extra}


@contextlib.contextmanager
def serving_endpoint(registry: LocalRegistry, server_url: str | None, request_log: Path, feature_repo: str | None):
    """A running server's URL, or an in-process one for the duration."""
    if server_url:
        status, _ = get_json(f"{server_url.rstrip('/')}/v2/health/live")
        if status != 200:
            raise ConnectionError(f"no serving process answers at {server_url} (GET /v2/health/live gave {status})")
        yield server_url.rstrip("/")
        return
    from pipelines.serving.server import ServingApp, start_in_background

    server, thread = start_in_background(ServingApp(registry, request_log, feature_repo))
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def deploy_local(
    registry: LocalRegistry,
    rollout: Rollout,
    server_url: str | None = None,
    request_log: Path | None = None,
    feature_repo: str | None = None,
) -> dict:
    """Roll ``rollout.version`` (already registered) out locally; returns the outcome, also appended to its lineage.

    Acts only on that version: promote and rollback name it, and the registry refuses them if another run's rollout
    replaced it. Raises :class:`pipelines.registry.RolloutInProgress` when another live run still holds the model's
    rollout after ``rollout.lease_wait_seconds``, and :class:`RolloutInterrupted` after withdrawing on a signal.
    """
    name, version = rollout.model_name, rollout.version
    registry.recover_interrupted(name)
    state = registry.state(name)
    if state.stable == version:
        return _unchanged(registry, rollout)
    with _interruptible():
        try:
            try:
                state = registry.start_rollout(
                    name,
                    version,
                    rollout.strategy,
                    rollout.canary_percent,
                    rollout_owner(rollout.run_id),
                    rollout.lease_wait_seconds,
                )
            except AlreadyStable:  # another run deployed the same bytes while this one waited
                return _unchanged(registry, rollout)
            stable = state.stable
            log = request_log or registry.root.parent / "serving" / "requests.jsonl"
            try:
                with serving_endpoint(registry, server_url, log, feature_repo) as url:
                    verdict = _observe(url, registry, rollout)
            except Exception as exc:  # noqa: BLE001 - the candidate never got a fair check: withdraw it
                verdict = Verdict("rollback", (f"health check failed: {exc}",), {}, None)
            if verdict.decision == PROMOTE:
                registry.promote(name, version)
                restored = None
            else:
                _, restored = registry.rollback(name, "; ".join(verdict.reasons), version=version)
        except RolloutInterrupted as interrupted:
            _withdraw_interrupted(registry, rollout, interrupted)
            raise
    outcome = outcome_of(rollout, verdict, restored, "local", replaced=stable if verdict.healthy else None)
    registry.record_deployment(name, version, outcome)
    return outcome


def _unchanged(registry: LocalRegistry, rollout: Rollout) -> dict:
    outcome = outcome_of(rollout, None, None, "local", note=f"{rollout.version} is already the stable version")
    registry.record_deployment(rollout.model_name, rollout.version, outcome)
    return outcome


def _withdraw_interrupted(registry: LocalRegistry, rollout: Rollout, interrupted: RolloutInterrupted) -> None:
    """Withdraw the candidate if this process still holds it, and record ``interrupted`` in the lineage."""
    name, version = rollout.model_name, rollout.version
    reason = f"interrupted: {interrupted} during the rollout"
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})  # a second signal must not cut this
    try:
        try:
            _, restored = registry.rollback(name, reason, version=version)
        except RegistryError:  # the signal came before the rollout started or after it ended: nothing of ours live
            restored = registry.state(name).stable
        registry.record_deployment(
            name,
            version,
            {
                **outcome_of(rollout, None, None, "local"),
                "outcome": "interrupted",
                "reasons": [reason],
                "restored": restored,
            },
        )
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})


def _observe(url: str, registry: LocalRegistry, rollout: Rollout) -> Verdict:
    """Readiness, then health-check traffic, then the server's own per-version counts for the window."""
    name, version, policy = rollout.model_name, rollout.version, rollout.policy
    base = f"{url}/v2/models/{name}"
    started = time.time()
    status, body = get_json(f"{base}/versions/{version}/ready", timeout=120)
    ready = status == 200 and bool(body.get("ready"))
    stable = registry.state(name).stable
    if ready:
        if rollout.strategy == "blue-green" or stable is None:
            send_probes(
                f"{base}/versions/{version}/infer",
                rollout.probe_rows,
                policy.min_requests,
                f"probe-{version}",
                rollout.window_seconds,
            )
            if stable:
                send_probes(
                    f"{base}/versions/{stable}/infer", rollout.probe_rows, policy.min_requests, f"baseline-{version}"
                )
        else:
            _drive_canary(base, rollout, started)
    _, stats = get_json(f"{base}/stats?since={started}")
    per_version = stats.get("versions", {})
    candidate = WindowStats(**{k: per_version.get(version, {}).get(k, 0) for k in ("requests", "errors", "p95_ms")})
    baseline = None
    if stable and stable in per_version:
        baseline = WindowStats(**{k: per_version[stable][k] for k in ("requests", "errors", "p95_ms")})
    return judge(ready, candidate, policy, baseline)


def _drive_canary(base: str, rollout: Rollout, since: float) -> None:
    """Traffic through the live split (deterministic ids) until the canary has seen ``min_requests``."""
    need = rollout.policy.min_requests
    batch = max(need, math.ceil(need * 100 / rollout.canary_percent))
    gap = rollout.window_seconds / batch if rollout.window_seconds else 0.0
    for i in range(batch * MAX_PROBE_FACTOR):
        post_json(
            f"{base}/infer",
            infer_body(rollout.probe_rows[i % len(rollout.probe_rows)], f"canary-{rollout.version}-{i}"),
        )
        if gap:
            time.sleep(gap)
        if (i + 1) % batch == 0 or (i + 1) % 50 == 0:
            _, stats = get_json(f"{base}/stats?since={since}")
            if stats.get("versions", {}).get(rollout.version, {}).get("requests", 0) >= need and i + 1 >= batch:
                return

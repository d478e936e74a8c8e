"""Rollout decisions shared by the cluster (KServe) and the local server: is the candidate healthy, and what next.

Pure logic, no I/O: the deployers gather :class:`WindowStats` (requests, errors, latencies over an observation
window) and readiness, and :func:`judge` returns promote / rollback with every reason.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

STRATEGIES = ("canary", "blue-green")
PROMOTE, ROLLBACK = "promote", "rollback"


@dataclass(frozen=True)
class HealthPolicy:
    """When a candidate counts as healthy. Pipeline parameters of the deploy step."""

    max_error_rate: float = 0.01
    """Failed requests / requests to the candidate in the window."""
    max_p95_latency_ms: float = 500.0
    max_latency_ratio: float = 2.0
    """Candidate p95 may be at most this multiple of the stable version's p95 (when the stable one has traffic)."""
    min_requests: int = 20
    """Fewer candidate requests than this in the window is not evidence of health: roll back."""

    def __post_init__(self):
        for name in ("max_error_rate", "max_p95_latency_ms", "max_latency_ratio"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.max_error_rate > 1:
            raise ValueError(f"max_error_rate is a fraction (0..1), got {self.max_error_rate}")
        if self.min_requests < 1:
            raise ValueError(f"min_requests must be at least 1, got {self.min_requests}")


@dataclass
class WindowStats:
    """Requests served by one version during the observation window (p95 over the successful ones)."""

    requests: int = 0
    errors: int = 0
    p95_ms: float = 0.0

    @classmethod
    def from_calls(cls, statuses: list[int], latencies_ms: list[float]) -> WindowStats:
        """From per-request HTTP statuses and latencies; 5xx and transport failures (status 0) are errors."""
        ok = [lat for status, lat in zip(statuses, latencies_ms, strict=True) if 0 < status < 500]
        return cls(len(statuses), sum(1 for s in statuses if s == 0 or s >= 500), percentile(ok, 95))

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def to_dict(self) -> dict:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": round(self.error_rate, 6),
            "p95_ms": round(self.p95_ms, 3),
        }


@dataclass(frozen=True)
class Verdict:
    decision: str  # promote | rollback
    reasons: tuple[str, ...]
    candidate: dict
    stable: dict | None

    @property
    def healthy(self) -> bool:
        return self.decision == PROMOTE


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


def judge(ready: bool, candidate: WindowStats, policy: HealthPolicy, stable: WindowStats | None = None) -> Verdict:
    """Promote only when the candidate is ready, saw enough requests, and its error rate and latency are in bounds."""
    reasons = []
    if not ready:
        reasons.append("candidate is not ready")
    if candidate.requests < policy.min_requests:
        reasons.append(f"only {candidate.requests} candidate requests in the window, {policy.min_requests} needed")
    if candidate.requests and candidate.error_rate > policy.max_error_rate:
        reasons.append(f"error rate {candidate.error_rate:.3f} > {policy.max_error_rate}")
    if candidate.p95_ms > policy.max_p95_latency_ms:
        reasons.append(f"p95 latency {candidate.p95_ms:.1f} ms > {policy.max_p95_latency_ms} ms")
    if stable and stable.requests and candidate.requests and stable.p95_ms > 0:
        ratio = candidate.p95_ms / stable.p95_ms
        if ratio > policy.max_latency_ratio:
            reasons.append(
                f"p95 latency {ratio:.2f}x the stable version's ({stable.p95_ms:.1f} ms), "
                f"limit {policy.max_latency_ratio}x"
            )
    return Verdict(
        ROLLBACK if reasons else PROMOTE, tuple(reasons), candidate.to_dict(), stable.to_dict() if stable else None
    )


def routes_to_candidate(request_id: str, percent: int) -> bool:
    """Deterministic split: a request id always lands on the same side (sha256 bucket 0..99 < percent)."""
    if percent <= 0:
        return False
    if percent >= 100:
        return True
    bucket = int.from_bytes(hashlib.sha256(request_id.encode()).digest()[:8], "big") % 100
    return bucket < percent


def check_strategy(strategy: str, percent: int) -> None:
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if not isinstance(percent, int) or (strategy == "canary" and not 1 <= percent <= 99):
        raise ValueError(f"canary_traffic_percent must be an integer in 1..99 for a canary, got {percent!r}")

"""Rollout decisions: health judgement and the deterministic traffic split."""

from __future__ import annotations

import pytest

from pipelines.serving.rollout import HealthPolicy, WindowStats, check_strategy, judge, percentile, routes_to_candidate

POLICY = HealthPolicy(max_error_rate=0.05, max_p95_latency_ms=100, max_latency_ratio=2.0, min_requests=10)


def test_healthy_candidate_is_promoted():
    verdict = judge(True, WindowStats(40, 1, 20.0), POLICY, WindowStats(400, 0, 15.0))
    assert verdict.healthy and verdict.reasons == ()


@pytest.mark.parametrize(
    ("ready", "candidate", "stable", "reason"),
    [
        (False, WindowStats(40, 0, 10.0), None, "not ready"),
        (True, WindowStats(5, 0, 10.0), None, "only 5 candidate requests"),
        (True, WindowStats(40, 3, 10.0), None, "error rate 0.075"),
        (True, WindowStats(40, 0, 150.0), None, "p95 latency 150.0 ms"),
        (True, WindowStats(40, 0, 50.0), WindowStats(100, 0, 10.0), "5.00x the stable"),
    ],
)
def test_unhealthy_candidate_is_rolled_back_with_the_reason(ready, candidate, stable, reason):
    verdict = judge(ready, candidate, POLICY, stable)
    assert verdict.decision == "rollback"
    assert any(reason in r for r in verdict.reasons), verdict.reasons


def test_window_stats_count_5xx_and_transport_failures_as_errors():
    stats = WindowStats.from_calls([200, 200, 500, 0, 400], [10, 20, 900, 900, 5])
    assert (stats.requests, stats.errors, stats.p95_ms) == (5, 2, 20.0)
    assert percentile([], 95) == 0.0 and percentile([1, 2, 3, 4], 50) == 2.0


def test_split_is_deterministic_per_request_id_and_close_to_the_weight():
    ids = [f"req-{i}" for i in range(5000)]
    first = [routes_to_candidate(i, 10) for i in ids]
    assert first == [routes_to_candidate(i, 10) for i in ids]
    assert 0.08 < sum(first) / len(ids) < 0.12
    assert not any(routes_to_candidate(i, 0) for i in ids[:100])
    assert all(routes_to_candidate(i, 100) for i in ids[:100])


def test_policy_and_strategy_inputs_are_checked():
    with pytest.raises(ValueError, match="max_error_rate"):
        HealthPolicy(max_error_rate=2)
    with pytest.raises(ValueError, match="min_requests"):
        HealthPolicy(min_requests=0)
    with pytest.raises(ValueError, match="strategy"):
        check_strategy("shadow", 10)
    with pytest.raises(ValueError, match="1..99"):
        check_strategy("canary", 100)
    check_strategy("blue-green", 0)

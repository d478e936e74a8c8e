"""A deploy interrupted by a signal leaves no candidate live: SIGTERM withdraws at once, SIGKILL at the next start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pipelines.registry import LocalRegistry
from tests.pipelines.serving.conftest import model_dirs  # noqa: F401 - the fixture

CHILD = """
import json, sys
from pipelines.registry import LocalRegistry
from pipelines.serving.local_deploy import Rollout, deploy_local
from pipelines.serving.rollout import HealthPolicy
from tests.pipelines.serving.conftest import SAMPLE

root, version = sys.argv[1], sys.argv[2]
policy = HealthPolicy(max_error_rate=0.01, max_p95_latency_ms=2000, max_latency_ratio=50, min_requests=10)
rows = [dict(SAMPLE, annual_income=50000.0 + 1000 * i) for i in range(16)]
rollout = Rollout("credit-risk", version, "canary", 10, policy, rows, window_seconds=120, run_id="slow-run")
print(json.dumps(deploy_local(LocalRegistry(root), rollout)))
"""


@pytest.fixture
def registry(tmp_path, model_dirs):  # noqa: F811
    from pipelines.serving.local_deploy import Rollout, deploy_local
    from tests.pipelines.test_deploy import POLICY, ROWS

    reg = LocalRegistry(tmp_path / "registry")
    for key in ("a", "b", "broken"):
        reg.register("credit-risk", model_dirs[key])
    deploy_local(reg, Rollout("credit-risk", "v1", "canary", 10, POLICY, ROWS))
    return reg


def _start_slow_deploy(registry: LocalRegistry, version: str) -> subprocess.Popen:
    """A deploy in a child process, returned once its canary is live (its observe window takes two minutes)."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(registry.root), version],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    deadline = time.monotonic() + 120
    while registry.state("credit-risk").candidate != version:
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the child's rollout never started"
        time.sleep(0.2)
    time.sleep(1.0)  # into the observe window
    return child


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_the_rollout_withdraws_the_candidate_and_records_interrupted(registry, sig):
    """Old bug: SIGTERM during deploy left the 10% canary live with no outcome recorded."""
    child = _start_slow_deploy(registry, "v2")
    child.send_signal(sig)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode != 0, "an interrupted deploy must not exit 0"
    assert f"interrupted by {sig.name}" in stderr
    assert registry.state("credit-risk").weights == {"v1": 100}, "no candidate left live"
    last = registry.history("credit-risk")[-1]
    assert (last["action"], last["version"], last["restored"]) == ("rollback", "v2", "v1")
    assert last["reason"] == f"interrupted: interrupted by {sig.name} during the rollout"
    outcome = registry.get("credit-risk", "v2").lineage["deployments"][-1]
    assert outcome["outcome"] == "interrupted" and outcome["restored"] == "v1"


def test_a_killed_deploy_is_withdrawn_by_the_next_deploy(registry):
    from pipelines.serving.local_deploy import Rollout, deploy_local
    from tests.pipelines.test_deploy import POLICY, ROWS

    child = _start_slow_deploy(registry, "v2")
    child.kill()
    child.communicate(timeout=30)
    assert registry.state("credit-risk").candidate == "v2", "SIGKILL cannot be handled: the canary is still live"
    outcome = deploy_local(registry, Rollout("credit-risk", "v3", "canary", 10, POLICY, ROWS))
    assert outcome["outcome"] == "rolled_back"  # v3 is the broken model
    events = [(e["action"], e["version"], e.get("reason")) for e in registry.history("credit-risk")]
    assert ("rollback", "v2", f"interrupted: owner pid {child.pid} gone") in events
    assert events.index(("rollback", "v2", f"interrupted: owner pid {child.pid} gone")) < len(events) - 2
    assert json.dumps(registry.state("credit-risk").weights) == json.dumps({"v1": 100})


def test_a_killed_deploy_is_withdrawn_when_the_server_starts(registry):
    child = _start_slow_deploy(registry, "v2")
    child.kill()
    child.communicate(timeout=30)
    server = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "serve", "--root", str(registry.root.parent), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd(), "PYTHONUNBUFFERED": "1"},
    )
    try:
        first = server.stdout.readline()
        assert first.strip() == f"withdrew v2 (interrupted: owner pid {child.pid} gone); v1 serves", first
        assert "serving http://" in server.stdout.readline()
        assert "credit-risk: v1 100%" in server.stdout.readline()
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=10)
    assert registry.state("credit-risk").candidate is None

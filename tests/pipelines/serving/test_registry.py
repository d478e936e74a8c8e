"""The local model registry: immutable versions, atomic index, rollout state and named rollbacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from pipelines.registry import (
    LocalRegistry,
    RegistryError,
    RolloutInProgress,
    VersionConflict,
    artifact_sha256,
    rollout_owner,
)


def _artifact(path, content: str):
    path.mkdir(parents=True, exist_ok=True)
    (path / "model.pt").write_text(content)
    (path / "summary.json").write_text("{}")
    return path


def test_versions_are_immutable_and_re_registering_the_same_bytes_is_safe(tmp_path):
    reg = LocalRegistry(tmp_path / "reg")
    a = _artifact(tmp_path / "a", "weights-a")
    v1 = reg.register("credit-risk", a, lineage={"data_hash": "d1"})
    assert (v1.version, v1.sha256) == ("v1", artifact_sha256(a))
    assert reg.register("credit-risk", a).version == "v1", "same bytes, no version given: the existing version"
    assert reg.register("credit-risk", a, "v1").sha256 == v1.sha256, "same version, same bytes: idempotent"
    b = _artifact(tmp_path / "b", "weights-b")
    with pytest.raises(VersionConflict, match="immutable"):
        reg.register("credit-risk", b, "v1")
    assert reg.register("credit-risk", b).version == "v2"
    stored = reg.get("credit-risk", "v1").artifact
    assert (stored / "model.pt").read_text() == "weights-a"
    assert not (stored / "model.pt").stat().st_mode & 0o222, "stored artifacts are read-only"
    assert reg.verify("credit-risk", "v1").lineage["data_hash"] == "d1"


def test_tampered_artifact_fails_verification(tmp_path):
    reg = LocalRegistry(tmp_path / "reg")
    mv = reg.register("credit-risk", _artifact(tmp_path / "a", "w"))
    target = mv.artifact / "model.pt"
    target.chmod(0o644)
    target.write_text("other")
    with pytest.raises(RegistryError, match="hashes to"):
        reg.verify("credit-risk", mv.version)


def test_index_is_written_atomically_and_names_are_checked(tmp_path):
    reg = LocalRegistry(tmp_path / "reg")
    reg.register("credit-risk", _artifact(tmp_path / "a", "w"))
    assert json.loads(reg.index_path.read_text())["models"]["credit-risk"]["versions"]["v1"]["sha256"]
    assert not list(reg.root.glob("*.tmp")), "no temp files left behind"
    with pytest.raises(RegistryError, match="model name"):
        reg.register("Credit Risk", tmp_path / "a")
    with pytest.raises(RegistryError, match="model version"):
        reg.register("credit-risk", tmp_path / "a", "../escape")
    with pytest.raises(RegistryError, match="does not exist"):
        reg.register("credit-risk", tmp_path / "missing")
    reg.index_path.write_text("{not json")
    with pytest.raises(RegistryError, match="corrupt"):
        reg.load()


def test_canary_promotion_and_rollbacks_name_the_restored_version(tmp_path):
    reg = LocalRegistry(tmp_path / "reg")
    for i, name in enumerate("abc"):
        reg.register("m", _artifact(tmp_path / name, f"w{i}"))
    reg.start_rollout("m", "v1", "canary", 10)
    assert reg.state("m").weights == {"v1": 100}, "first version: nothing to split against"
    reg.promote("m", "v1")
    state = reg.start_rollout("m", "v2", "canary", 10)
    assert state.weights == {"v1": 90, "v2": 10}
    assert reg.rollback("m", "error rate") == ("v2", "v1")
    assert reg.state("m").weights == {"v1": 100}
    assert reg.start_rollout("m", "v3", "blue-green", 10).weights == {"v1": 100, "v3": 0}
    reg.promote("m", "v3")
    assert reg.state("m").stable == "v3"
    assert reg.rollback("m", "degraded after promotion") == ("v3", "v1"), "restores what the promotion replaced"
    events = [(e["action"], e.get("version"), e.get("restored")) for e in reg.history("m")]
    assert ("rollback", "v2", "v1") in events and events[-1] == ("rollback", "v3", "v1")
    with pytest.raises(RegistryError, match="nothing to roll back"):
        reg.rollback("m", "again")
    with pytest.raises(RegistryError, match="already the stable"):
        reg.start_rollout("m", "v1", "canary", 10)
    with pytest.raises(RegistryError, match="0..100"):
        reg.start_rollout("m", "v2", "canary", 120)


def test_deployment_outcomes_are_appended_to_the_lineage(tmp_path):
    reg = LocalRegistry(tmp_path / "reg")
    reg.register("m", _artifact(tmp_path / "a", "w"), lineage={"git_commit": "abc"})
    reg.record_deployment("m", "v1", {"outcome": "promoted"})
    reg.record_deployment("m", "v1", {"outcome": "unchanged"})
    lineage = reg.find("v1").lineage
    assert [d["outcome"] for d in lineage["deployments"]] == ["promoted", "unchanged"]
    assert lineage["git_commit"] == "abc"
    with pytest.raises(RegistryError, match="no model version"):
        reg.find("v9")


def _three_versions(tmp_path) -> LocalRegistry:
    reg = LocalRegistry(tmp_path / "reg")
    for i, name in enumerate("abc"):
        reg.register("m", _artifact(tmp_path / name, f"w{i}"))
    return reg


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_promote_and_rollback_act_only_on_the_named_version(tmp_path):
    """Old bug: promote()/rollback() acted on "the current candidate", so a run could promote another run's."""
    reg = _three_versions(tmp_path)
    reg.start_rollout("m", "v1", "canary", 10)
    reg.promote("m", "v1")
    reg.start_rollout("m", "v2", "canary", 10)
    with pytest.raises(RegistryError, match="current candidate is v2"):
        reg.promote("m", "v3")
    with pytest.raises(RegistryError, match="current candidate is v2"):
        reg.rollback("m", "bad", version="v3")
    assert reg.state("m").weights == {"v1": 90, "v2": 10}, "a refused call changes nothing"
    assert reg.rollback("m", "error rate", version="v2") == ("v2", "v1")
    with pytest.raises(RegistryError, match="current candidate is none"):
        reg.promote("m", "v2")


def test_a_live_rollout_is_a_lease_other_processes_cannot_take_or_finish(tmp_path):
    reg = _three_versions(tmp_path)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        owner = {**rollout_owner("run-A"), "pid": other.pid, "pid_started": None}
        reg.start_rollout("m", "v1", "canary", 10, owner=owner)
        busy = rf"rollout of m v1 by run run-A \(pid {other.pid} .*in progress since"
        with pytest.raises(RolloutInProgress, match=busy):
            reg.start_rollout("m", "v2", "canary", 10)
        with pytest.raises(RegistryError, match="not this process"):
            reg.promote("m", "v1")
        assert reg.state("m").candidate == "v1"
    finally:
        other.kill()
        other.wait()
    events = reg.recover_interrupted()
    assert [(e["version"], e["reason"]) for e in events] == [("v1", f"interrupted: owner pid {other.pid} gone")]
    assert reg.state("m").candidate is None and reg.history("m")[-1]["reason"].startswith("interrupted")


def test_a_second_rollout_waits_for_the_first_then_proceeds(tmp_path):
    reg = _three_versions(tmp_path)
    reg.start_rollout("m", "v1", "canary", 10)
    finisher = threading.Timer(1.0, lambda: reg.promote("m", "v1"))
    finisher.start()
    started = time.monotonic()
    state = reg.start_rollout("m", "v2", "canary", 10, wait_seconds=30)
    assert time.monotonic() - started >= 0.9, "it waited for the first rollout's promotion"
    assert (state.stable, state.candidate) == ("v1", "v2")
    with pytest.raises(RolloutInProgress, match="after waiting 1 s"):
        reg.start_rollout("m", "v3", "canary", 10, wait_seconds=1)


def test_a_dead_or_expired_owner_is_withdrawn_by_the_next_rollout(tmp_path):
    reg = _three_versions(tmp_path)
    dead = _dead_pid()
    reg.start_rollout("m", "v1", "canary", 10, owner={**rollout_owner("gone"), "pid": dead})
    reg.start_rollout("m", "v2", "canary", 10)
    withdrawn = reg.history("m")[-2]
    assert (withdrawn["action"], withdrawn["version"]) == ("rollback", "v1")
    assert withdrawn["reason"] == f"interrupted: owner pid {dead} gone"
    reg.rollback("m", "test", version="v2")
    reg.start_rollout("m", "v3", "canary", 10, owner={**rollout_owner("old"), "expires": time.time() - 1})
    assert reg.recover_interrupted("m")[0]["reason"].startswith("interrupted: lease of run old")


def test_concurrent_registrations_get_distinct_versions(tmp_path):
    """Old bug: deploy() took next_version() outside the lock; two runs picked the same v<N> (VersionConflict)."""
    root = tmp_path / "reg"
    script = (
        "import sys; from pipelines.registry import LocalRegistry; "
        "print(LocalRegistry(sys.argv[1]).register('m', sys.argv[2]).version)"
    )
    artifacts = [_artifact(tmp_path / f"art{i}", f"weights-{i}") for i in range(6)]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(root), str(a)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.getcwd()},
        )
        for a in artifacts
    ]
    versions = [child.communicate(timeout=60)[0].strip() for child in children]
    assert sorted(versions) == [f"v{i}" for i in range(1, 7)], versions
    assert all(LocalRegistry(root).get("m", v).lineage["version"] == v for v in versions)

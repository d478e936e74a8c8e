"""The local model registry: immutable versions, atomic index, rollout state and named rollbacks."""

from __future__ import annotations

import json

import pytest

from pipelines.registry import LocalRegistry, RegistryError, VersionConflict, artifact_sha256


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
    reg.promote("m")
    state = reg.start_rollout("m", "v2", "canary", 10)
    assert state.weights == {"v1": 90, "v2": 10}
    assert reg.rollback("m", "error rate") == ("v2", "v1")
    assert reg.state("m").weights == {"v1": 100}
    assert reg.start_rollout("m", "v3", "blue-green", 10).weights == {"v1": 100, "v3": 0}
    reg.promote("m")
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

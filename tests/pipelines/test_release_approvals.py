"""Release approvals (what the approve step records and the deploy step checks) and the actor of registry actions."""

from __future__ import annotations

import base64
import json

import pytest

from pipelines.registry import ACTOR_ENV, LocalRegistry, RegistryError, current_actor, token_subject
from pipelines.serving.approvals import (
    ApprovalError,
    ClusterApprovals,
    LocalApprovals,
    check_approved,
    wait_for_sign_off,
)

SHA = "ab" * 32


def jwt(claims: dict) -> str:
    part = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJSUzI1NiJ9.{part}.c2lnbmF0dXJl"


def test_the_token_subject_is_recorded_never_the_token(tmp_path, monkeypatch):
    token = tmp_path / "token"
    token.write_text(jwt({"sub": "system:serviceaccount:kubeflow:pipeline-runner", "aud": ["x"]}))
    monkeypatch.setenv(ACTOR_ENV, "alice@example.com")
    actor = current_actor(token)
    assert actor == {
        "subject": "system:serviceaccount:kubeflow:pipeline-runner",
        "authenticated": True,
        "source": "kubernetes",
    }
    assert token.read_text() not in json.dumps(actor)


def test_the_cli_subject_then_the_os_user_marked_unauthenticated(tmp_path, monkeypatch):
    monkeypatch.setenv(ACTOR_ENV, "alice@example.com")
    assert current_actor(tmp_path / "none") == {
        "subject": "alice@example.com",
        "authenticated": False,
        "source": "oidc-token",
    }
    monkeypatch.delenv(ACTOR_ENV)
    actor = current_actor(tmp_path / "none")
    assert actor["source"] == "os-user" and actor["authenticated"] is False and "@" in actor["subject"]


@pytest.mark.parametrize("token", ["not-a-jwt", jwt({"aud": "x"}), "a.!!!.c"])
def test_a_token_without_a_subject_is_refused_with_a_reason(token):
    with pytest.raises(RegistryError, match="actor"):
        token_subject(token)


def test_register_promote_rollback_record_their_actor(tmp_path, monkeypatch):
    from pipelines.lineage import rows

    monkeypatch.setenv(ACTOR_ENV, "alice@example.com")
    registry = LocalRegistry(tmp_path / "reg")
    for n in (1, 2):
        model = tmp_path / f"m{n}"
        model.mkdir()
        (model / "model.pt").write_bytes(bytes([n]))
        version = registry.register("credit-risk", model).version
        registry.start_rollout("credit-risk", version, "canary", 10)
        registry.promote("credit-risk", version)
    monkeypatch.setenv(ACTOR_ENV, "bob@example.com")
    registry.rollback("credit-risk", "bad canary")
    history = registry.history("credit-risk")
    assert [(e["action"], e["actor"]["subject"]) for e in history] == [
        ("register", "alice@example.com"),
        ("rollout", "alice@example.com"),
        ("promote", "alice@example.com"),
        ("register", "alice@example.com"),
        ("rollout", "alice@example.com"),
        ("promote", "alice@example.com"),
        ("rollback", "bob@example.com"),
    ]
    shown = dict(rows(registry.get("credit-risk", "v2").lineage))
    assert shown["registered by"] == "alice@example.com (NOT authenticated: oidc-token)"
    assert any(
        k.startswith("registry rollback") and v.startswith("by bob@example.com")
        for k, v in rows(registry.get("credit-risk", "v2").lineage)
    )


def test_local_approvals_are_append_only_and_checked(tmp_path):
    approvals = LocalApprovals(tmp_path)
    with pytest.raises(ApprovalError, match="not approved by the release gate"):
        check_approved(approvals.entries(), "credit-risk", SHA, None, False)
    approvals.record("credit-risk", SHA, "")
    check_approved(approvals.entries(), "credit-risk", SHA, None, False)
    with pytest.raises(ApprovalError, match="immutable"):
        approvals.record("credit-risk", SHA, "v9")
    with pytest.raises(ApprovalError, match="no human approval"):
        check_approved(approvals.entries(), "credit-risk", SHA, None, True)
    with pytest.raises(ApprovalError, match="not approved by the release gate"):
        approvals.sign_off("credit-risk", "cd" * 32, "carol")
    approvals.sign_off("credit-risk", SHA, "carol")
    check_approved(approvals.entries(), "credit-risk", SHA, None, True)
    assert wait_for_sign_off(approvals.entries, "credit-risk", SHA, 0) == "carol"


def test_waiting_for_a_sign_off_times_out():
    with pytest.raises(ApprovalError, match="no human approval"):
        wait_for_sign_off(dict, "credit-risk", SHA, 0.05, poll_seconds=0.01)


class FakeCore:
    def __init__(self):
        self.data: dict[str, str] = {}

    def read_namespaced_config_map(self, name, namespace):
        assert (name, namespace) == ("release-approvals", "ml-serving")
        return type("CM", (), {"data": dict(self.data)})()

    def patch_namespaced_config_map(self, name, namespace, body):
        self.data.update(body["data"])


def test_cluster_approvals_bind_the_bytes_to_one_version():
    core = FakeCore()
    approvals = ClusterApprovals(core, "ml-serving")
    approvals.record("credit-risk", SHA, "run-1234abcd")
    approvals.record("credit-risk", SHA, "run-1234abcd")  # a retried step
    assert core.data == {f"credit-risk.{SHA}": "run-1234abcd"}
    with pytest.raises(ApprovalError, match="immutable"):
        approvals.record("credit-risk", SHA, "run-other")
    with pytest.raises(ApprovalError, match="not run-other"):
        check_approved(approvals.entries(), "credit-risk", SHA, "run-other", False)


def test_cluster_sign_off_needs_the_gate_approval_and_is_immutable():
    core = FakeCore()
    approvals = ClusterApprovals(core, "ml-serving")
    with pytest.raises(ApprovalError, match="not approved by the release gate"):
        approvals.sign_off("credit-risk", SHA, "alice@corp.example")
    approvals.record("credit-risk", SHA, "run-1234abcd")
    approvals.sign_off("credit-risk", SHA, "alice@corp.example")
    approvals.sign_off("credit-risk", SHA, "alice@corp.example")  # said twice: no change
    assert core.data[f"credit-risk.{SHA}.approved-by"] == "alice@corp.example"
    with pytest.raises(ApprovalError, match="already signed off by alice"):
        approvals.sign_off("credit-risk", SHA, "mallory@corp.example")
    check_approved(approvals.entries(), "credit-risk", SHA, "run-1234abcd", True)


def test_an_api_refusal_is_an_approval_error_naming_the_answer():
    from kubernetes.client.rest import ApiException

    class Refusing(FakeCore):
        def patch_namespaced_config_map(self, name, namespace, body):
            raise ApiException(
                status=422,
                reason="Invalid",
            )

    approvals = ClusterApprovals(Refusing(), "ml-serving")
    with pytest.raises(ApprovalError, match="answered 422 Invalid"):
        approvals.record("credit-risk", SHA, "run-1234abcd")


def test_mlops_release_approve_signs_off_locally_as_the_actor(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from infra.cli import app

    monkeypatch.setenv("MLOPS_ACTOR", "alice@corp.example")
    invoke = lambda: CliRunner().invoke(app, ["release", "approve", "credit-risk", SHA, "--root", str(tmp_path)])
    refused = invoke()
    assert refused.exit_code == 1 and "not approved by the release gate" in refused.output
    LocalApprovals(tmp_path / "registry").record("credit-risk", SHA, "run-1234abcd")
    done = invoke()
    assert done.exit_code == 0, done.output
    assert "signed off credit-risk" in done.output and "alice@corp.example" in done.output
    assert LocalApprovals(tmp_path / "registry").entries()[f"credit-risk.{SHA}.approved-by"] == "alice@corp.example"
    bad = CliRunner().invoke(app, ["release", "approve", "credit-risk", "not-a-sha", "--root", str(tmp_path)])
    assert bad.exit_code == 1 and "64 lowercase hex" in bad.output and "Traceback" not in bad.output


def test_mlops_release_approve_on_a_cluster_signs_off_as_the_api_servers_user(tmp_path, monkeypatch):
    """The cluster path: the approver is who the API server says the kubeconfig's user is (SelfSubjectReview)."""
    from kubernetes import client, config
    from typer.testing import CliRunner

    from infra.cli import app

    core = FakeCore()
    core.data[f"credit-risk.{SHA}"] = "run-1234abcd"
    review = type(
        "Review", (), {"status": type("S", (), {"user_info": type("U", (), {"username": "bob@corp.example"})})}
    )
    monkeypatch.setattr(config, "new_client_from_config", lambda **_: object())
    monkeypatch.setattr(
        client,
        "AuthenticationV1Api",
        lambda api: type("A", (), {"create_self_subject_review": lambda self, body: review})(),
    )
    monkeypatch.setattr(client, "CoreV1Api", lambda api: core)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")
    done = CliRunner().invoke(
        app, ["release", "approve", "credit-risk", SHA, "--kubeconfig", str(kubeconfig), "--namespace", "ml-serving"]
    )
    assert done.exit_code == 0, done.output
    assert core.data[f"credit-risk.{SHA}.approved-by"] == "bob@corp.example"


def test_the_checks_copy_of_the_deploy_identity_matches_the_component():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "policies" / "checks"))
    try:
        from _mlops_context import DEFAULT_DEPLOY_IDENTITY
    finally:
        sys.path.pop(0)
    from components.security.admission import DEPLOYER_SERVICE_ACCOUNT
    from components.services.kfp import NAMESPACE

    assert DEFAULT_DEPLOY_IDENTITY == {"namespace": NAMESPACE, "name": DEPLOYER_SERVICE_ACCOUNT}

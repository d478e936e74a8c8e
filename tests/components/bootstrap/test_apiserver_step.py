"""The bootstrap's ``apiserver`` step (control-plane nodes) against a kubeadm kube-apiserver static-pod fixture.

The script is sourced and its step run as on a node, with the manifest, configuration and audit-log directories
pointed into a temporary directory, and stand-ins for ``pgrep`` and ``curl`` (``standins/``): the "API server" is the
manifest the kubelet would run (a new manifest is a new process) and answers ``/readyz`` unless the test says its
configuration does not come up. What it cannot show: a real kubelet recreating the pod, a real API server reading
the files (see docs/security-detection-and-audit.md, "unverified without a cluster").
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from components.bootstrap import render
from components.bootstrap.render import SCRIPT, NodePlan, apiserver_plan, node_env
from infra.config import NodeBootstrap, Oidc

HERE = Path(__file__).parent
FIXTURE = HERE / "fixtures" / "kube-apiserver.yaml"
STANDINS = HERE / "standins"
OIDC = Oidc(issuer_url="https://sso.dc1.internal/realms/corp", audience="mlops-platform")
SETTINGS = NodeBootstrap.model_validate(
    {
        "aptRepositories": [{"name": "k8s", "uri": "https://mirror.invalid/k8s", "suite": "/", "signedBy": "/k.gpg"}],
        "containerdVersion": "1.7.27-1",
        "kubernetesPackageVersion": "1.33.2-1.1",
        "nvidiaContainerToolkitVersion": "1.17.8-1",
        "apiServerEndpoint": "k8s-api.dc1.internal:6443",
        "caCertHashes": ["sha256:" + "0" * 64],
    }
)


def control_plane_env(oidc: Oidc = OIDC) -> dict[str, str]:
    plan = NodePlan(
        name="ctl-01",
        address="10.0.0.1",
        ssh_user="mlops",
        pool="system",
        gpu=False,
        gpu_count=None,
        apiserver=apiserver_plan(oidc, "1.33"),
    )
    return node_env(plan, SETTINGS)


class Node:
    def __init__(self, root: Path, manifest: str) -> None:
        self.root = root
        self.manifest = root / "manifests" / "kube-apiserver.yaml"
        self.config_dir = root / "mlops"
        self.log_dir = root / "audit"
        self.calls = root / "calls.log"
        self.manifest.parent.mkdir(parents=True)
        self.manifest.write_text(manifest)
        self.manifest.chmod(0o600)

    def run(self, env: dict[str, str], **test_env: str) -> subprocess.CompletedProcess:
        driver = (
            f'source "{SCRIPT}"\n'
            f'APISERVER_MANIFEST="{self.manifest}"\nAPISERVER_CONFIG_DIR="{self.config_dir}"\n'
            f'AUDIT_LOG_DIR="{self.log_dir}"\nAPISERVER_READY_TIMEOUT=2\nAPISERVER_POLL_SECONDS=0.1\n'
            "run_step apiserver step_apiserver\n"
        )
        full = {
            **os.environ,
            **env,
            "PATH": f"{STANDINS}:{os.environ['PATH']}",
            "MLOPS_TEST_MANIFEST": str(self.manifest),
            "MLOPS_TEST_CALLS": str(self.calls),
            **test_env,
        }
        return subprocess.run(["bash", "-c", driver], env=full, capture_output=True, text=True, timeout=60, check=False)

    def pod(self) -> dict:
        return yaml.safe_load(self.manifest.read_text())

    def backups(self) -> list[Path]:
        return sorted((self.config_dir / "backup").glob("kube-apiserver.yaml.*"))


@pytest.fixture
def node(tmp_path) -> Node:
    return Node(tmp_path, FIXTURE.read_text())


def container(pod: dict) -> dict:
    (only,) = pod["spec"]["containers"]
    return only


def test_patches_flags_mounts_volumes_and_writes_the_files(node):
    env = control_plane_env()
    result = node.run(env)
    assert result.returncode == 0, result.stderr
    assert "step=apiserver status=changed" in result.stdout
    original, pod = yaml.safe_load(FIXTURE.read_text()), node.pod()
    command = container(pod)["command"]
    assert command[0] == "kube-apiserver"
    assert command[1 : 1 + len(render.apiserver_flags())] == render.apiserver_flags()
    assert command[1 + len(render.apiserver_flags()) :] == container(original)["command"][1:]
    mounts = {m["name"]: m for m in container(pod)["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert mounts["mlops-apiserver-config"] == {
        "mountPath": str(node.config_dir),
        "name": "mlops-apiserver-config",
        "readOnly": True,
    }
    assert mounts["mlops-audit-log"] == {"mountPath": str(node.log_dir), "name": "mlops-audit-log"}
    assert volumes["mlops-apiserver-config"]["hostPath"] == {"path": str(node.config_dir), "type": "DirectoryOrCreate"}
    assert volumes["mlops-audit-log"]["hostPath"] == {"path": str(node.log_dir), "type": "DirectoryOrCreate"}
    assert len(mounts) == len(container(original)["volumeMounts"]) + 2
    assert len(volumes) == len(original["spec"]["volumes"]) + 2
    assert "mlops.platform/apiserver-config-sha256" in pod["metadata"]["annotations"]
    # nothing else of the pod moved
    for key in ("image", "livenessProbe", "readinessProbe", "startupProbe", "resources"):
        assert container(pod)[key] == container(original)[key]
    assert pod["spec"]["hostNetwork"] is True and pod["metadata"]["labels"] == original["metadata"]["labels"]
    auth = node.config_dir / "authentication-config.yaml"
    audit = node.config_dir / "audit-policy.yaml"
    assert auth.read_text() == env["MLOPS_APISERVER_AUTH_CONFIG"] + "\n"
    assert audit.read_text() == env["MLOPS_APISERVER_AUDIT_POLICY"] + "\n"
    assert oct(auth.stat().st_mode & 0o777) == oct(0o600) == oct(audit.stat().st_mode & 0o777)
    (backup,) = node.backups()
    assert backup.read_text() == FIXTURE.read_text()
    # the backup and the work file never sit in the kubelet's static-pod directory
    assert sorted(p.name for p in node.manifest.parent.iterdir()) == ["kube-apiserver.yaml"]
    assert "/readyz" in node.calls.read_text()


def test_second_run_changes_nothing(node):
    env = control_plane_env()
    assert node.run(env).returncode == 0
    before = node.manifest.read_text()
    again = node.run(env)
    assert again.returncode == 0, again.stderr
    assert "step=apiserver status=ok" in again.stdout
    assert node.manifest.read_text() == before and len(node.backups()) == 1


def test_a_changed_audit_policy_recreates_the_pod(node):
    env = control_plane_env()
    assert node.run(env).returncode == 0
    before = node.pod()
    changed = {**env, "MLOPS_APISERVER_AUDIT_POLICY": env["MLOPS_APISERVER_AUDIT_POLICY"] + "\n# changed"}
    result = node.run(changed)
    assert result.returncode == 0, result.stderr
    assert "step=apiserver status=changed" in result.stdout
    key = "mlops.platform/apiserver-config-sha256"
    assert node.pod()["metadata"]["annotations"][key] != before["metadata"]["annotations"][key]
    assert container(node.pod())["command"] == container(before)["command"]


def test_legacy_oidc_flags_are_replaced(tmp_path):
    legacy = FIXTURE.read_text().replace(
        "    - --secure-port=6443\n",
        "    - --secure-port=6443\n    - --oidc-issuer-url=https://old.invalid\n    - --oidc-client-id=old\n"
        "    - --audit-log-path=/tmp/old.log\n",
    )
    node = Node(tmp_path, legacy)
    assert node.run(control_plane_env()).returncode == 0
    command = container(node.pod())["command"]
    assert not [f for f in command if f.startswith("--oidc-")]
    assert [f for f in command if f.startswith("--audit-log-path=")] == [f"--audit-log-path={render.AUDIT_LOG}"]


def test_rolls_back_when_the_api_server_does_not_come_up(node):
    result = node.run(control_plane_env(), MLOPS_TEST_UNREADY_IF="--authentication-config")
    assert result.returncode != 0
    assert "rolled back" in result.stderr and "step=apiserver status=failed" in result.stderr
    assert node.manifest.read_text() == FIXTURE.read_text()
    (backup,) = node.backups()
    assert backup.read_text() == FIXTURE.read_text()


def test_reports_when_even_the_rollback_does_not_serve(node, tmp_path):
    down = tmp_path / "down"
    down.write_text("")
    result = node.run(control_plane_env(), MLOPS_TEST_APISERVER_DOWN=str(down))
    assert result.returncode != 0
    assert "nor after rolling back" in result.stderr
    assert node.manifest.read_text() == FIXTURE.read_text()


@pytest.mark.parametrize("cut", ["  volumes:\n", "    - kube-apiserver\n", "  annotations:\n"])
def test_refuses_a_manifest_not_in_kubeadm_layout(tmp_path, cut):
    text = FIXTURE.read_text().replace(cut, "", 1)
    node = Node(tmp_path, text)
    result = node.run(control_plane_env())
    assert result.returncode != 0 and "left unchanged" in result.stderr
    assert node.manifest.read_text() == text and node.backups() == []


def test_refuses_flags_it_does_not_manage(node):
    env = {**control_plane_env(), "MLOPS_APISERVER_FLAGS": "--anonymous-auth=true"}
    result = node.run(env)
    assert result.returncode != 0 and "not a flag this step manages" in result.stderr
    assert node.manifest.read_text() == FIXTURE.read_text()


def test_authentication_config_is_the_idp():
    doc = yaml.safe_load(control_plane_env()["MLOPS_APISERVER_AUTH_CONFIG"])
    assert doc["apiVersion"] == "apiserver.config.k8s.io/v1beta1" and doc["kind"] == "AuthenticationConfiguration"
    (jwt,) = doc["jwt"]
    assert jwt["issuer"] == {"url": OIDC.issuer_url, "audiences": [OIDC.audience]}
    assert jwt["claimMappings"]["username"] == {"claim": "email", "prefix": ""}
    assert jwt["claimMappings"]["groups"] == {"claim": "groups", "prefix": ""}
    assert any("system:" in rule["expression"] for rule in jwt["userValidationRules"])
    assert render.authentication_api_version("1.34") == "apiserver.config.k8s.io/v1"
    with pytest.raises(ValueError):
        render.authentication_api_version("1.29")


def test_audit_policy_never_records_secret_bodies():
    rules = yaml.safe_load(control_plane_env()["MLOPS_APISERVER_AUDIT_POLICY"])["rules"]
    secrets = next(
        i for i, r in enumerate(rules) if any("secrets" in g.get("resources", []) for g in r.get("resources", []))
    )
    assert rules[secrets]["level"] == "Metadata" and set(rules[secrets]) == {"level", "resources"}
    bodies = [i for i, r in enumerate(rules) if r["level"] in ("Request", "RequestResponse")]
    assert bodies and min(bodies) > secrets
    assert rules[-1] == {"level": "Metadata"}


def test_workers_get_no_apiserver_inputs():
    plan = NodePlan(name="gpu-01", address="10.0.0.2", ssh_user="mlops", pool="gpu", gpu=True, gpu_count=8)
    env = node_env(plan, SETTINGS)
    assert env["MLOPS_CONTROL_PLANE"] == "0" and not [k for k in env if k.startswith("MLOPS_APISERVER_")]

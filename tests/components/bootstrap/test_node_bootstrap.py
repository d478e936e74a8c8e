"""The bootstrap component under Pulumi mocks: what it would send to each node, and what it must never expose."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml

from components import gpu
from components.bootstrap import render
from infra.config import ConfigError, SecretValue, validate
from tests.conftest import of_type, run_mocked

STACK = Path(__file__).resolve().parents[3] / "stacks" / "Pulumi.onprem-dc1.yaml"
JOIN_TOKEN = "k3x9qa.7fj2m0c8zq4w1n6p"
SSH_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-unit-test-key\n-----END OPENSSH PRIVATE KEY-----"
)


def raw_stack() -> dict:
    doc = yaml.safe_load(STACK.read_text())["config"]
    return {k.removeprefix("mlops:"): v for k, v in doc.items() if not isinstance(v, dict) or "secure" not in v}


def bootstrap_program(raw: dict):
    def program():
        import pulumi

        from components.bootstrap.node_bootstrap import NodesBootstrap
        from infra.targets.onprem import nodes_bootstrap_args

        cfg = validate(
            {
                **raw,
                "kubeconfig": SecretValue("kubeconfig", pulumi.Output.secret("apiVersion: v1")),
                "nodeSshPrivateKey": SecretValue("nodeSshPrivateKey", pulumi.Output.secret(SSH_KEY)),
                "clusterJoinToken": SecretValue("clusterJoinToken", pulumi.Output.secret(JOIN_TOKEN)),
            },
            "stacks/Pulumi.test.yaml",
        )
        NodesBootstrap("node-bootstrap", nodes_bootstrap_args(cfg))

    return program


@pytest.fixture(scope="module")
def result():
    return run_mocked(bootstrap_program(raw_stack()), stack="onprem-dc1")


def command_env(resource) -> dict[str, str]:
    words = shlex.split(resource.inputs["create"])
    assert words[:3] == ["sudo", "-n", "env"] and words[-2:] == ["bash", render.REMOTE_SCRIPT]
    return dict(word.split("=", 1) for word in words[3:-2])


def runs(result) -> dict[str, dict[str, str]]:
    return {r.name.removesuffix("-run"): command_env(r) for r in of_type(result, "command:remote:Command")}


def test_one_component_per_node_with_addresses(result):
    nodes = of_type(result, "mlops:onprem:NodeBootstrap")
    assert sorted(n.name for n in nodes) == sorted(
        ["dc1-k8s-ctl-01", "dc1-k8s-ctl-02", "dc1-k8s-ctl-03", "dc1-gpu-01", "dc1-gpu-02", "dc1-gpu-03"]
    )
    assert all(n.parent.endswith("mlops:onprem:NodesBootstrap::node-bootstrap") for n in nodes)


def test_every_node_is_sent_the_one_script_file_and_reruns_when_it_changes(result):
    digest = render.script_sha256()
    copies = of_type(result, "command:remote:CopyToRemote")
    assert len(copies) == 6
    for copy in copies:
        assert copy.inputs["source"] == {"fileAsset": str(render.SCRIPT)}
        assert copy.inputs["remotePath"] == render.REMOTE_SCRIPT
        assert copy.inputs["triggers"] == [digest]
    for run in of_type(result, "command:remote:Command"):
        assert run.inputs["triggers"] == [digest]
        assert any(dep.endswith(run.name.replace("-run", "-script")) for dep in run.dependencies)


def test_ssh_connection_and_join_token_are_secrets(result):
    for resource in of_type(result, "command:remote:Command") + of_type(result, "command:remote:CopyToRemote"):
        assert resource.inputs["connection"] == "[secret]"
    for run in of_type(result, "command:remote:Command"):
        assert run.inputs["stdin"] == "[secret]"


def test_no_input_or_output_holds_the_token_or_key_in_plaintext(result):
    recorded = json.dumps([r.__dict__ for r in result.resources], default=str)
    assert JOIN_TOKEN not in recorded
    assert "unit-test-key" not in recorded


def test_gpu_nodes_get_the_toolkit_the_gpu_taint_and_labels(result):
    env = runs(result)["dc1-gpu-03"]
    assert env["MLOPS_GPU"] == "1"
    assert "nvidia-container-toolkit=1.17.8-1" in env["MLOPS_PACKAGES"].split()
    assert env["MLOPS_NODE_TAINTS"] == f"{gpu.GPU_TAINT['key']}={gpu.GPU_TAINT['value']}:{gpu.GPU_TAINT['effect']}"
    assert env["MLOPS_NODE_LABELS"] == render.label_flag(gpu.gpu_node_labels("gpu-l40s", "nvidia-l40s", 4))


def test_cpu_nodes_get_neither_toolkit_nor_gpu_taint(result):
    env = runs(result)["dc1-k8s-ctl-01"]
    assert env["MLOPS_GPU"] == "0"
    assert not any("nvidia" in spec for spec in env["MLOPS_PACKAGES"].split())
    assert env["MLOPS_NODE_TAINTS"] == ""
    assert env["MLOPS_NODE_LABELS"] == render.label_flag(gpu.cpu_node_labels("system"))


def test_control_plane_servers_get_the_api_server_configuration_from_identity_oidc(result):
    """``controlPlane: true`` servers: the IdP (stack's identity.oidc) and the audit policy for their kube-apiserver."""
    oidc = raw_stack()["identity"]["oidc"]
    envs = runs(result)
    control_plane = sorted(n for n, env in envs.items() if env["MLOPS_CONTROL_PLANE"] == "1")
    assert control_plane == ["dc1-k8s-ctl-01", "dc1-k8s-ctl-02", "dc1-k8s-ctl-03"]
    for name in control_plane:
        env = envs[name]
        auth = yaml.safe_load(env["MLOPS_APISERVER_AUTH_CONFIG"])
        assert auth["jwt"][0]["issuer"] == {"url": oidc["issuerUrl"], "audiences": [oidc["audience"]]}
        assert yaml.safe_load(env["MLOPS_APISERVER_AUDIT_POLICY"])["kind"] == "Policy"
        assert env["MLOPS_APISERVER_FLAGS"].split() == render.apiserver_flags()
    for name in set(envs) - set(control_plane):
        assert not [k for k in envs[name] if k.startswith("MLOPS_APISERVER_")]


def test_packages_and_sources_are_pinned_from_the_stack(result):
    env = runs(result)["dc1-gpu-01"]
    assert env["MLOPS_PACKAGES"].split()[:4] == [
        "containerd.io=1.7.27-1",
        "kubelet=1.33.2-1.1",
        "kubeadm=1.33.2-1.1",
        "kubectl=1.33.2-1.1",
    ]
    assert all(line.startswith("deb [signed-by=/etc/apt/keyrings/") for line in env["MLOPS_APT_SOURCES"].splitlines())


def test_a_root_ssh_user_runs_without_sudo():
    assert render.remote_command({"A": "b c"}, "root") == f"env 'A=b c' bash {render.REMOTE_SCRIPT}"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda nb: nb["aptRepositories"][0].pop("signedBy"), "set signedBy"),
        (lambda nb: nb.update(kubernetesPackageVersion="1.32.4-1.1"), "is not a 1.33.x release"),
        (lambda nb: nb.update(containerdVersion="1.7.*"), "mlops:nodeBootstrap.containerdVersion"),
        (lambda nb: nb.update(caCertHashes=["sha256:abc"]), "is not sha256:<64 lowercase hex digits>"),
    ],
)
def test_unpinned_or_unsigned_sources_are_refused_with_the_key_named(change, message):
    raw = raw_stack()
    change(raw["nodeBootstrap"])
    secrets = {k: SecretValue(k) for k in ("kubeconfig", "nodeSshPrivateKey", "clusterJoinToken")}
    with pytest.raises(ConfigError, match=message.replace("*", r"\*")):
        validate({**raw, **secrets}, "stacks/Pulumi.onprem-dc1.yaml")


def test_bootstrap_without_the_ssh_key_secret_is_refused():
    raw = raw_stack()
    with pytest.raises(ConfigError, match="nodeBootstrap needs the Pulumi secret.*nodeSshPrivateKey"):
        validate({**raw, "kubeconfig": SecretValue("kubeconfig"), "clusterJoinToken": SecretValue("x")}, "s.yaml")

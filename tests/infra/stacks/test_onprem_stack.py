"""The onprem-dc1 stack previews end to end offline: the expected resources, on the kubeconfig's provider, with
no unknown inputs and no secret in plain text."""

from __future__ import annotations

import json

import pytest

from infra.config import ConfigError
from infra.targets.onprem import api_server
from policies.preview.model import PreviewResource, PreviewResult
from policies.preview.runner import preview_stack

EXPECTED_COUNTS = {
    "kubernetes:cert-manager.io/v1:Certificate": 1,
    "kubernetes:core/v1:Namespace": 9,  # 4 platform + 1 team + gpu-operator + object-store + tigera-operator + falco
    "kubernetes:core/v1:NodePatch": 6,  # 3 system + 3 GPU servers
    "kubernetes:core/v1:Secret": 2,
    "kubernetes:helm.sh/v3:Release": 4,  # GPU Operator, MinIO, Calico (tigera-operator), Falco
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": 19,
    "kubernetes:operator.tigera.io/v1:Installation": 1,
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": 4,
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": 2,
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": 10,
    "mlops:kubernetes:ClusterBaseline": 1,
    "mlops:kubernetes:Falco": 1,
    "mlops:kubernetes:GpuOperator": 1,
    "mlops:kubernetes:PlatformRbac": 1,
    "mlops:kubernetes:SecureNamespace": 9,
    "mlops:onprem:CalicoNetwork": 1,
    "mlops:onprem:OnPremGpuPools": 1,
    "mlops:onprem:OnPremObjectStore": 1,
    "pulumi:providers:kubernetes": 1,
    "pulumi:pulumi:Stack": 1,
    "random:index/randomBytes:RandomBytes": 1,
    "random:index/randomPassword:RandomPassword": 2,
}
FOUNDATION_ROOTS = {
    "mlops:kubernetes:ClusterBaseline",
    "mlops:onprem:OnPremGpuPools",
    "mlops:onprem:OnPremObjectStore",
    "mlops:onprem:CalicoNetwork",
    "mlops:kubernetes:Falco",
}


@pytest.fixture(scope="module")
def result() -> PreviewResult:
    return preview_stack("onprem-dc1")


def foundation_counts(result: PreviewResult) -> dict[str, int]:
    """Counts per type of the stack, the provider, and everything under the baseline, pools and object store
    (later layers add their own resources to the stack; they are not counted here)."""
    index = result.by_urn()

    def in_foundation(r: PreviewResource) -> bool:
        if r.type.startswith("pulumi:"):
            return True
        node: PreviewResource | None = r
        while node is not None:
            if node.type in FOUNDATION_ROOTS:
                return True
            node = index.get(node.parent or "")
        return False

    counts: dict[str, int] = {}
    for r in result.resources:
        if in_foundation(r):
            counts[r.type] = counts.get(r.type, 0) + 1
    return counts


def test_previews_the_expected_resource_set(result: PreviewResult) -> None:
    assert foundation_counts(result) == EXPECTED_COUNTS
    assert not result.unknown_inputs


def test_every_kubernetes_resource_uses_the_kubeconfig_provider(result: PreviewResult) -> None:
    (provider,) = [r for r in result.resources if r.type == "pulumi:providers:kubernetes"]
    assert provider.inputs["kubeconfig"] == "[secret]"
    assert provider.inputs["clusterIdentifier"] == "dc1-abudhabi"
    for r in result.resources:
        if r.custom and r.package == "kubernetes":
            assert r.provider and r.provider.startswith(provider.urn), f"{r.name} uses {r.provider}"


def test_no_secret_in_plain_text(result: PreviewResult) -> None:
    dumped = json.dumps(result.to_json())
    assert "not decrypted by the offline preview" not in dumped
    assert "MINIO_KMS_SECRET_KEY" not in dumped
    for r in result.resources:
        if r.type == "kubernetes:core/v1:Secret" and r.inputs.get("type") != "kubernetes.io/service-account-token":
            assert r.inputs["stringData"] == "[secret]"
        elif r.type == "kubernetes:core/v1:Secret":  # the API server fills a ServiceAccount token in; none planned
            assert "stringData" not in r.inputs and "data" not in r.inputs


def test_outputs_name_the_site_endpoint_and_buckets(result: PreviewResult) -> None:
    out = result.outputs
    assert out["target"] == "onprem" and out["clusterName"] == "dc1-abudhabi"
    assert out["clusterEndpoint"] == "https://k8s-api.dc1.internal:6443"
    assert out["objectStoreEndpoint"] == "https://minio.object-store.svc.cluster.local:9000"
    assert out["buckets"] == {b: f"s3://{b}" for b in ("datasets", "features", "models", "pipeline-artifacts")}
    assert out["gpuNodes"] == ["dc1-gpu-01", "dc1-gpu-02", "dc1-gpu-03"]


KUBECONFIG = """
apiVersion: v1
kind: Config
clusters:
- {name: dc1, cluster: {server: "https://10.10.0.10:6443", certificate-authority-data: Zm9v}}
- {name: lab, cluster: {server: "https://lab:6443"}}
contexts:
- {name: admin@dc1, context: {cluster: dc1, user: admin}}
current-context: admin@dc1
users:
- {name: admin, user: {token: abc}}
"""


def test_api_server_comes_from_the_kubeconfig_current_context() -> None:
    assert api_server(KUBECONFIG) == "https://10.10.0.10:6443"


@pytest.mark.parametrize(
    "text", ["not yaml: [", "[secret mlops:kubeconfig]", KUBECONFIG.replace("https://10", "http://10")]
)
def test_unusable_kubeconfig_is_a_clear_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match=r"mlops:kubeconfig: .*mlops:onprem\.apiEndpoint"):
        api_server(text)
    try:
        api_server(text)
    except ConfigError as exc:
        assert "token" not in str(exc) and "abc" not in str(exc), "the message must not echo the kubeconfig"

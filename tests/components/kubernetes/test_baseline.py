"""ClusterBaseline: every platform namespace locked down, the GPU Operator pinned with the driver switch following
the stack's safeguard, and the whole baseline previewing with no unknown inputs."""

from __future__ import annotations

import pytest

from components import gpu, versions
from components.kubernetes.baseline import PLATFORM_NAMESPACES, ClusterBaseline, ClusterBaselineArgs
from infra.targets.args import cluster_baseline_args
from policies.preview.model import PreviewResult, component_of
from tests.components.kubernetes.helpers import stack_config
from tests.conftest import of_type, one, run_mocked

NAMESPACE = "kubernetes:core/v1:Namespace"
NP = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
RELEASE = "kubernetes:helm.sh/v3:Release"


def preview_baseline(args: ClusterBaselineArgs) -> PreviewResult:
    return run_mocked(lambda: ClusterBaseline("baseline", args))


@pytest.fixture(scope="module")
def baseline() -> PreviewResult:
    return preview_baseline(cluster_baseline_args(stack_config()))


def namespaces(result: PreviewResult) -> dict[str, dict]:
    return {r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"] for r in of_type(result, NAMESPACE)}


def test_every_platform_and_team_namespace_enforces_restricted(baseline: PreviewResult) -> None:
    found = namespaces(baseline)
    expected = {*PLATFORM_NAMESPACES, "ml-workspace"}
    assert expected <= set(found)
    for name in expected:
        for mode in ("enforce", "audit", "warn"):
            assert found[name][f"pod-security.kubernetes.io/{mode}"] == "restricted", name
            assert found[name][f"pod-security.kubernetes.io/{mode}-version"] == "v1.33", name


def test_only_the_gpu_operator_namespace_is_privileged(baseline: PreviewResult) -> None:
    levels = {n: labels["pod-security.kubernetes.io/enforce"] for n, labels in namespaces(baseline).items()}
    assert {n for n, level in levels.items() if level != "restricted"} == {"gpu-operator"}
    assert levels["gpu-operator"] == "privileged"


def test_each_platform_namespace_has_default_deny_and_dns_egress(baseline: PreviewResult) -> None:
    by_namespace: dict[str, dict[str, dict]] = {}
    for policy in of_type(baseline, NP):
        meta = policy.inputs["metadata"]
        by_namespace.setdefault(meta["namespace"], {})[meta["name"]] = policy.inputs["spec"]
    for name in (*PLATFORM_NAMESPACES, "ml-workspace"):
        deny = by_namespace[name]["default-deny"]
        assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, name
        assert "allow-dns-egress" in by_namespace[name], name
    assert by_namespace["gpu-operator"]["default-deny"]["policyTypes"] == ["Ingress"]


def test_gpu_operator_chart_is_pinned_from_versions(baseline: PreviewResult) -> None:
    release = one(baseline, RELEASE)
    assert release.inputs["chart"] == versions.GPU_OPERATOR.name == "gpu-operator"
    assert release.inputs["version"] == versions.GPU_OPERATOR.version
    assert release.inputs["repositoryOpts"] == {"repo": "https://helm.ngc.nvidia.com/nvidia"}
    assert release.inputs["namespace"] == "gpu-operator"
    values = release.inputs["values"]
    assert values["toolkit"] == {"enabled": True}
    assert gpu.GPU_TOLERATION in values["daemonsets"]["tolerations"]
    assert gpu.GPU_TOLERATION in values["node-feature-discovery"]["worker"]["tolerations"]


@pytest.mark.parametrize("preinstalled", [True, False])
def test_driver_installation_follows_the_safeguard(preinstalled: bool) -> None:
    cfg = stack_config(safeguards={"gpuDriverPreinstalled": preinstalled})
    result = preview_baseline(cluster_baseline_args(cfg))
    assert one(result, RELEASE).inputs["values"]["driver"] == {"enabled": not preinstalled}


def test_gpu_pool_taints_are_tolerated_by_the_operator() -> None:
    pools = stack_config().model_dump(by_alias=True, exclude_none=True)["nodePools"]
    pools[1]["taints"] = [{"key": "dedicated", "value": "training", "effect": "NoSchedule"}]
    args = cluster_baseline_args(stack_config(nodePools=pools))
    assert args.gpu_tolerations == [
        gpu.GPU_TOLERATION,
        {"key": "dedicated", "operator": "Equal", "value": "training", "effect": "NoSchedule"},
    ]


def test_components_have_stable_tokens_and_parents(baseline: PreviewResult) -> None:
    index = baseline.by_urn()
    tokens = {r.type for r in baseline.resources if not r.custom}
    assert {
        "mlops:kubernetes:ClusterBaseline",
        "mlops:kubernetes:SecureNamespace",
        "mlops:kubernetes:GpuOperator",
        "mlops:kubernetes:PlatformRbac",
    } <= tokens
    for resource in baseline.resources:
        if resource.custom:
            assert component_of(resource, index) is not None, f"{resource.name} has no component parent"
    assert not baseline.unknown_inputs


def test_team_namespace_may_not_shadow_a_platform_namespace() -> None:
    args = ClusterBaselineArgs("1.33", ["a"], ["e"], ["d"], team_namespaces=["ml-serving"])
    with pytest.raises(Exception, match="clash"):
        preview_baseline(args)

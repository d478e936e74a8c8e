"""OnPremGpuPools: GPU labels and the GPU taint on exactly the servers of GPU pools; pool labels everywhere."""

from __future__ import annotations

import pytest

from components import gpu
from components.onprem.gpu_pools import OnPremGpuPools
from infra.targets.onprem import gpu_pools_args
from policies.preview.model import PreviewResult
from tests.components.kubernetes.helpers import stack_config
from tests.conftest import of_type, run_mocked

PATCH = "kubernetes:core/v1:NodePatch"
GPU_NODES = {"dc1-gpu-01", "dc1-gpu-02", "dc1-gpu-03"}
CPU_NODES = {"dc1-k8s-ctl-01", "dc1-k8s-ctl-02", "dc1-k8s-ctl-03"}


def patches(result: PreviewResult) -> dict[str, dict]:
    return {r.inputs["metadata"]["name"]: r.inputs for r in of_type(result, PATCH)}


@pytest.fixture(scope="module")
def result() -> PreviewResult:
    return run_mocked(lambda: OnPremGpuPools("pools", gpu_pools_args(stack_config())))


def test_one_patch_per_listed_server(result: PreviewResult) -> None:
    assert set(patches(result)) == GPU_NODES | CPU_NODES
    assert all(p.inputs["kind"] == "Node" for p in of_type(result, PATCH))
    assert not result.unknown_inputs


def test_gpu_taint_on_exactly_the_gpu_servers(result: PreviewResult) -> None:
    tainted = {name for name, p in patches(result).items() if gpu.GPU_TAINT in p.get("spec", {}).get("taints", [])}
    assert tainted == GPU_NODES


def test_gpu_labels_on_gpu_servers_and_cpu_labels_elsewhere(result: PreviewResult) -> None:
    found = patches(result)
    assert found["dc1-gpu-01"]["metadata"]["labels"] == gpu.gpu_node_labels("gpu-a100", "nvidia-a100", 8)
    assert found["dc1-gpu-03"]["metadata"]["labels"] == gpu.gpu_node_labels("gpu-l40s", "nvidia-l40s", 4)
    for name in CPU_NODES:
        labels = found[name]["metadata"]["labels"]
        assert labels == gpu.cpu_node_labels("system")
        assert labels[gpu.LABEL_ACCELERATOR] != gpu.GPU_NODE_SELECTOR[gpu.LABEL_ACCELERATOR]
        assert "spec" not in found[name], "CPU servers get no taints unless their pool configures some"


def test_configured_pool_labels_and_taints_are_kept_with_platform_labels_winning() -> None:
    pools = stack_config().model_dump(by_alias=True, exclude_none=True)["nodePools"]
    pools[0]["labels"] = {"site-rack": "r12", gpu.LABEL_POOL: "spoofed"}
    pools[0]["taints"] = [{"key": "dedicated", "value": "system", "effect": "NoSchedule"}]
    pools[1]["nodes"][0]["gpuCount"] = 4
    result = run_mocked(lambda: OnPremGpuPools("pools", gpu_pools_args(stack_config(nodePools=pools))))
    found = patches(result)
    system = found["dc1-k8s-ctl-01"]
    assert system["metadata"]["labels"]["site-rack"] == "r12"
    assert system["metadata"]["labels"][gpu.LABEL_POOL] == "system"
    assert system["spec"]["taints"] == [{"key": "dedicated", "value": "system", "effect": "NoSchedule"}]
    assert found["dc1-gpu-01"]["metadata"]["labels"][gpu.LABEL_GPU_COUNT] == "4", "a node's own GPU count wins"


def test_a_server_in_two_pools_is_refused() -> None:
    pools = stack_config().model_dump(by_alias=True, exclude_none=True)["nodePools"]
    pools[2]["nodes"].append({"name": "dc1-gpu-01"})
    args = gpu_pools_args(stack_config(nodePools=pools))
    with pytest.raises(Exception, match="dc1-gpu-01"):
        run_mocked(lambda: OnPremGpuPools("pools", args))

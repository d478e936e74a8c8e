"""On-prem node pools: the stack names existing servers per pool; this marks them with the pool's labels and taints.

GPU pools get the GPU labels and the GPU taint from :mod:`components.gpu` (the one place that defines them), so
the same pods land on GPU servers here as on EKS or AKS GPU node groups. Bootstrapping the servers themselves
(containerd, the kubelet, the join) is a separate component; this one only patches Node objects that exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi

from components import gpu
from components.errors import InputError


@dataclass(frozen=True)
class NodeTaint:
    key: str
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
    value: str = ""


@dataclass(frozen=True)
class PoolNode:
    """One existing server of a pool, by its Kubernetes node name; ``address``/``ssh_user`` to bootstrap it over SSH."""

    name: str
    address: str | None = None
    ssh_user: str = "mlops"
    ssh_host_key: str | None = None
    gpu_count: int | None = None
    """GPUs in this server when they differ from the pool's ``gpu_count``."""
    control_plane: bool = False
    """A control-plane server: the bootstrap also configures its kube-apiserver (IdP authentication, audit)."""


@dataclass
class NodePoolSpec:
    """A pool of existing servers: what marks them (labels, taints) and which they are."""

    name: str
    kind: Literal["cpu", "gpu"]
    gpu_model: str | None = None
    gpu_count: int | None = None
    """GPUs per node (GPU pools)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: Sequence[NodeTaint] = ()
    nodes: Sequence[PoolNode] = ()


def node_marking(pool: NodePoolSpec, node: PoolNode) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The labels and taints one node of ``pool`` must carry. GPU pools: GPU labels (the node's own GPU count if
    it differs from the pool's) and the GPU taint first; every pool: its configured labels and taints."""
    gpu_count = (node.gpu_count or pool.gpu_count) if pool.kind == "gpu" else None
    labels = gpu.node_labels(pool.name, pool.kind, pool.gpu_model, gpu_count, dict(pool.labels))
    taints = [dict(gpu.GPU_TAINT)] if pool.kind == "gpu" else []
    for taint in pool.taints:
        configured = {"key": taint.key, "value": taint.value, "effect": taint.effect}
        if configured not in taints:
            taints.append(configured)
    return labels, taints


@dataclass
class OnPremGpuPoolsArgs:
    pools: Sequence[NodePoolSpec]
    """The stack's node pools, each listing its servers (``nodes``) by their Kubernetes node name."""


class OnPremGpuPools(pulumi.ComponentResource):
    """One server-side-apply NodePatch per listed server: pool labels, and the GPU taint on GPU pools only."""

    nodes: dict[str, pulumi.Output[str]]
    """Node name -> the patched node's name (resolves once the patch is applied)."""
    gpu_nodes: list[str]
    """Names of the servers in GPU pools."""

    def __init__(self, resource_name: str, args: OnPremGpuPoolsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:onprem:OnPremGpuPools", resource_name, None, opts)
        from pulumi_kubernetes.core.v1 import NodePatch

        seen: dict[str, str] = {}
        for pool in args.pools:
            for node in pool.nodes:
                if node.name in seen:
                    raise InputError(f"node {node.name!r} is listed in both pool {seen[node.name]!r} and {pool.name!r}")
                seen[node.name] = pool.name
        self.nodes = {}
        self.gpu_nodes = []
        for pool in args.pools:
            for node in pool.nodes:
                labels, taints = node_marking(pool, node)
                # Taints are an atomic list under server-side apply: this patch owns the whole list. A conflicting
                # owner (someone tainting by hand) fails the update loudly instead of being overwritten.
                patch = NodePatch(
                    f"{resource_name}-{node.name}",
                    metadata={"name": node.name, "labels": labels},
                    spec={"taints": taints} if taints else None,
                    opts=pulumi.ResourceOptions(parent=self),
                )
                self.nodes[node.name] = patch.metadata.name
                if pool.kind == "gpu":
                    self.gpu_nodes.append(node.name)
        self.register_outputs({"nodes": self.nodes, "gpuNodes": self.gpu_nodes})

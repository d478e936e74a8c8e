"""NVIDIA GPU Operator, installed by Helm at the version pinned in :mod:`components.versions`.

The operator runs the device plugin (advertises ``nvidia.com/gpu``), the container toolkit, DCGM metrics, node
feature discovery and, where the node image does not ship one, the NVIDIA driver, on every GPU node.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components import gpu, versions
from components.kubernetes.namespace import SecureNamespace, SecureNamespaceArgs


@dataclass
class GpuOperatorArgs:
    driver_enabled: bool
    """Install the NVIDIA driver from the operator. False where the node image ships it (EKS NVIDIA AMIs, AKS GPU
    images, on-prem nodes bootstrapped with the driver): two drivers on one node fight over the kernel modules."""
    pod_security_version: str
    """PSA policy version for the operator's namespace (``v1.33``)."""
    toolkit_enabled: bool = True
    """Configure the NVIDIA container toolkit in containerd on each GPU node."""
    namespace: str = "gpu-operator"
    chart: versions.HelmChart = versions.GPU_OPERATOR
    gpu_tolerations: Sequence[dict[str, str]] = field(default_factory=lambda: [gpu.GPU_TOLERATION])
    """Tolerations for the operator's node agents: the GPU taint plus any other taint the GPU pools carry."""


def gpu_operator_values(args: GpuOperatorArgs) -> dict[str, Any]:
    """Helm values for the chart: the driver switch, the toolkit, and tolerations that let agents onto GPU nodes."""
    tolerations = [dict(t) for t in args.gpu_tolerations]
    return {
        "driver": {"enabled": args.driver_enabled},
        "toolkit": {"enabled": args.toolkit_enabled},
        "devicePlugin": {"enabled": True},
        "dcgmExporter": {"enabled": True},
        "daemonsets": {"tolerations": tolerations},
        "node-feature-discovery": {"worker": {"tolerations": tolerations}},
    }


class GpuOperator(pulumi.ComponentResource):
    """The GPU Operator's namespace (PSA privileged, see below) and its pinned Helm release."""

    namespace: pulumi.Output[str]
    release_name: pulumi.Output[str | None]

    def __init__(self, resource_name: str, args: GpuOperatorArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:kubernetes:GpuOperator", resource_name, None, opts)
        from pulumi_kubernetes.helm.v3 import Release

        # The operator's node agents are privileged by nature: the driver container loads kernel modules, the
        # toolkit rewrites containerd's config on the host, the device plugin and validators mount /dev, /run/nvidia
        # and host paths. PSA `restricted` or `baseline` would reject them, so this namespace (and only this one)
        # enforces `privileged`; audit/warn stay `restricted` so the gap is visible. Only the operator runs here and
        # only platform-admins can create pods here (components.kubernetes.rbac). Ingress is denied by default;
        # egress stays open because the agents must reach the API server, whose address differs per cluster.
        namespace = SecureNamespace(
            f"{resource_name}-ns",
            SecureNamespaceArgs(
                name=args.namespace,
                pod_security_version=args.pod_security_version,
                tier="system",
                pod_security="privileged",
                deny_egress=False,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        release = Release(
            resource_name,
            name="gpu-operator",
            chart=args.chart.name,
            version=args.chart.version,
            repository_opts={"repo": args.chart.repository},
            namespace=namespace.name,
            create_namespace=False,
            values=gpu_operator_values(args),
            cleanup_on_fail=True,
            max_history=10,
            timeout=1200,  # driver containers compile/load modules on first install: allow 20 minutes
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace = namespace.name
        self.release_name = release.name
        self.register_outputs({"namespace": self.namespace, "releaseName": self.release_name})

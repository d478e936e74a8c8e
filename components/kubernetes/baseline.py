"""The in-cluster baseline every target gets, whatever built the cluster (EKS, AKS, on-prem).

Composes one-concern components: locked-down platform namespaces (:mod:`.namespace`), the NVIDIA GPU Operator
(:mod:`.gpu_operator`) and RBAC for the IdP groups (:mod:`.rbac`). The service layers (Kubeflow Pipelines, KServe,
Feast) install into the namespaces made here and add their own narrow network-policy allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi

from components import gpu
from components.errors import InputError
from components.kubernetes.gpu_operator import GpuOperator, GpuOperatorArgs
from components.kubernetes.namespace import SecureNamespace, SecureNamespaceArgs, psa_version
from components.kubernetes.rbac import PlatformRbac, PlatformRbacArgs

SYSTEM_NAMESPACE = "mlops-system"
"""Platform operators and controllers; platform-admins only."""
PIPELINES_NAMESPACE = "ml-pipelines"
SERVING_NAMESPACE = "ml-serving"
FEATURE_STORE_NAMESPACE = "feature-store"
PLATFORM_NAMESPACES = (SYSTEM_NAMESPACE, PIPELINES_NAMESPACE, SERVING_NAMESPACE, FEATURE_STORE_NAMESPACE)
WORKLOAD_NAMESPACES = (PIPELINES_NAMESPACE, SERVING_NAMESPACE, FEATURE_STORE_NAMESPACE)
"""Platform namespaces where ML engineers manage workloads and data scientists read."""
DEFAULT_TEAM_NAMESPACES = ("ml-workspace",)
"""Where ML teams run their own experiments and pipeline runs."""


@dataclass
class ClusterBaselineArgs:
    kubernetes_version: str
    """Cluster version (``1.33``); pins the Pod Security Admission policy version."""
    platform_admin_groups: Sequence[str]
    ml_engineer_groups: Sequence[str]
    data_scientist_groups: Sequence[str]
    gpu_driver_preinstalled: bool = True
    """The GPU nodes' image ships the NVIDIA driver, so the GPU Operator must not install one."""
    gpu_tolerations: Sequence[dict[str, str]] = field(default_factory=lambda: [gpu.GPU_TOLERATION])
    """Tolerations for the GPU Operator's node agents (the GPU taint, plus other taints GPU pools carry)."""
    team_namespaces: Sequence[str] = DEFAULT_TEAM_NAMESPACES
    """Namespaces for ML teams' work: engineers manage workloads, data scientists read and submit pipelines."""


class ClusterBaseline(pulumi.ComponentResource):
    """Platform and team namespaces (PSA restricted, default-deny), the GPU Operator, and RBAC."""

    namespaces: dict[str, pulumi.Output[str]]
    """Namespace name -> its name output; depend on it to install into the namespace after it exists."""
    gpu_operator_namespace: pulumi.Output[str]

    def __init__(self, resource_name: str, args: ClusterBaselineArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:kubernetes:ClusterBaseline", resource_name, None, opts)
        clash = sorted(set(args.team_namespaces) & set(PLATFORM_NAMESPACES))
        if clash:
            raise InputError(f"team namespaces {clash} clash with the platform's own namespaces")
        version = psa_version(args.kubernetes_version)
        child = pulumi.ResourceOptions(parent=self)

        tiers = {**{n: "platform" for n in PLATFORM_NAMESPACES}, **{n: "team" for n in args.team_namespaces}}
        self.namespaces = {
            name: SecureNamespace(
                f"{resource_name}-{name}",
                SecureNamespaceArgs(name=name, pod_security_version=version, tier=tier),  # type: ignore[arg-type]
                opts=child,
            ).name
            for name, tier in tiers.items()
        }
        operator = GpuOperator(
            f"{resource_name}-gpu-operator",
            GpuOperatorArgs(
                driver_enabled=not args.gpu_driver_preinstalled,
                pod_security_version=version,
                gpu_tolerations=args.gpu_tolerations,
            ),
            opts=child,
        )
        workload = [*WORKLOAD_NAMESPACES, *args.team_namespaces]
        PlatformRbac(
            f"{resource_name}-rbac",
            PlatformRbacArgs(
                platform_admin_groups=args.platform_admin_groups,
                ml_engineer_groups=args.ml_engineer_groups,
                data_scientist_groups=args.data_scientist_groups,
                workload_namespaces={n: self.namespaces[n] for n in workload},
                pipeline_namespaces=[PIPELINES_NAMESPACE, *args.team_namespaces],
            ),
            opts=child,
        )
        self.gpu_operator_namespace = operator.namespace
        self.register_outputs({"namespaces": self.namespaces, "gpuOperatorNamespace": self.gpu_operator_namespace})

"""Per-target builders. Each turns a validated :class:`~infra.config.StackConfig` into a :class:`TargetCluster`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi


@dataclass
class TargetCluster:
    """What every target hands to the in-cluster layers (baseline, services): one Kubernetes cluster and its storage."""

    provider: Any
    """``pulumi_kubernetes.Provider`` for the cluster."""
    cluster_name: pulumi.Input[str]
    endpoint: pulumi.Input[str]
    buckets: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    """Bucket config name -> object-store URI (``s3://...``, ``abfss://...``) for Feast, KFP and models."""
    encryption_key: pulumi.Input[str] | None = None
    """Customer-managed key for data services: AWS KMS key ARN, Azure Key Vault key id; None on-prem."""
    network: dict[str, Any] = field(default_factory=dict)
    """Where private services go. aws: vpc_id, vpc_cidr, private_subnet_ids; azure: resource_group_name, location,
    vnet_id, vnet_name, services_subnet_id; onprem: storage_class."""
    workload_identity: dict[str, Any] = field(default_factory=dict)
    """Target-specific identity wiring for service accounts (IRSA OIDC provider, Azure workload identity, ...)."""
    dependencies: list[pulumi.Resource] = field(default_factory=list)
    """Resources the in-cluster layers must wait for (node groups, pools)."""
    outputs: dict[str, pulumi.Input[Any]] = field(default_factory=dict)
    egress: Any = None
    """:class:`components.kubernetes.egress.EgressEndpoints`: the named places pods may reach outside the pod network
    (API server, private endpoints, proxy); the services and training layers build their egress rules from it."""
    cloud_provider: Any = None
    """The target's explicit cloud provider (AWS: pinned to the stack's region, default tags) for services that
    make cloud resources; None where the default provider is right (Azure) or there is no cloud (on-prem)."""

    @property
    def providers(self) -> list[Any]:
        """Every explicit provider, for components that make both cloud and Kubernetes resources."""
        return [p for p in (self.provider, self.cloud_provider) if p is not None]

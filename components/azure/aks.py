"""AKS as a private cluster with Entra ID RBAC, a system pool and GPU/CPU user pools.

Secure by default: private API server (no public FQDN, public network access disabled), Entra ID authentication
with Azure RBAC (admin groups from the IdP; ml-engineer and data-scientist groups may fetch user credentials,
their in-cluster rights come from the baseline's Kubernetes RBAC), local accounts disabled, Azure Policy add-on,
OIDC issuer and workload identity, encryption at host and a customer-managed disk encryption set on every
pool, etcd secrets encrypted with the Key Vault key (KMS, private vault access), Azure CNI overlay with network
policy. Pulumi must run from a network that reaches the private API server (a runner inside the VNet).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import containerservice, managedidentity

from components.azure.common import (
    AKS_CLUSTER_USER,
    AKS_RBAC_CLUSTER_ADMIN,
    KEY_VAULT_CONTRIBUTOR,
    KEY_VAULT_CRYPTO_USER,
    NETWORK_CONTRIBUTOR,
    READER,
    assign_role,
    send_diagnostics,
)
from components.errors import InputError
from components.gpu import GPU_TAINT, node_labels

NETWORK_POLICY_ENGINES = ("calico", "cilium", "azure")
"""AKS ``networkProfile.networkPolicy`` values that enforce Kubernetes NetworkPolicy (``cilium`` needs the Cilium
dataplane); ``none`` (the AKS default) leaves every policy inert."""

AKS_LOG_CATEGORIES = (
    "kube-apiserver",
    "kube-audit-admin",
    "kube-controller-manager",
    "kube-scheduler",
    "cluster-autoscaler",
    "guard",
)
"""Control-plane logs sent to Log Analytics (``kube-audit-admin``: every write, without the read noise)."""


def taint_string(key: str, value: str, effect: str) -> str:
    """AKS node taints are strings: ``key=value:Effect``."""
    return f"{key}={value}:{effect}" if value else f"{key}:{effect}"


_GPU_VM_SIZE = re.compile(r"^Standard_N[CDV]", re.IGNORECASE)
"""NVIDIA GPU VM families: NC (compute), ND (deep learning), NV (visualisation)."""

GPU_TAINT_STRING = taint_string(GPU_TAINT["key"], GPU_TAINT["value"], GPU_TAINT["effect"])
SPOT_TAINT_STRING = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"
"""AKS puts this taint on every spot node; declaring it keeps the pool's desired state equal to the real one."""


@dataclass
class AksPoolArgs:
    """One node pool. GPU pools get the platform GPU taint and labels from :mod:`components.gpu`."""

    name: str
    """Pool name (AKS: lowercase, at most 12 characters for Linux pools)."""
    vm_size: str
    """VM size, e.g. ``Standard_D4ds_v5``; GPU pools need an NC/ND size."""
    min_count: int
    max_count: int
    count: int
    kind: str = "cpu"
    """``cpu`` or ``gpu``."""
    gpu_model: str | None = None
    gpu_count: int | None = None
    spot: bool = False
    """Spot capacity (evicted nodes are deleted; pay at most the on-demand price)."""
    os_disk_size_gb: int = 128
    ephemeral_os_disk: bool = False
    """OS disk on the VM's local cache/temp disk: nothing of the node's temporary data persists in Azure Storage.
    The size must fit the VM size's cache; the system pool uses it (its VM sizes have room)."""
    max_pods: int = 110
    """Pods per node (CNI overlay); below 50 starves system daemonsets (Checkov CKV_AZURE_168)."""
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[str] = field(default_factory=list)
    """Extra taints as ``key=value:Effect`` strings."""

    def __post_init__(self) -> None:
        if len(self.name) > 12 or not self.name.isalnum() or not self.name.islower() or not self.name[0].isalpha():
            raise InputError(
                f"node pool {self.name!r}: AKS pool names are 1-12 lowercase letters and digits, starting with a letter"
            )
        if self.kind == "gpu" and not _GPU_VM_SIZE.match(self.vm_size):
            raise InputError(f"node pool {self.name!r}: vm size {self.vm_size!r} has no NVIDIA GPU; use an NC/ND size")

    @property
    def node_labels(self) -> dict[str, str]:
        return node_labels(self.name, self.kind, self.gpu_model, self.gpu_count, self.labels)

    @property
    def node_taints(self) -> list[str]:
        taints = list(self.taints)
        if self.kind == "gpu":
            taints.append(GPU_TAINT_STRING)
        if self.spot:
            taints.append(SPOT_TAINT_STRING)
        return list(dict.fromkeys(taints))


@dataclass
class AksClusterArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    """Azure region of the cluster and its identity."""
    cluster_name: str
    """Cluster name, also its DNS prefix."""
    kubernetes_version: str
    """Control plane and node pool version, e.g. ``1.33``."""
    subscription_id: pulumi.Input[str]
    """Subscription of the built-in role definitions assigned here."""
    tenant_id: pulumi.Input[str]
    """Entra ID tenant that authenticates cluster users."""
    node_subnet_id: pulumi.Input[str]
    """Subnet for every pool's nodes (pods use the overlay ``pod_cidr``)."""
    system_pool: AksPoolArgs
    """The pool created with the cluster (mode System, on-demand CPU)."""
    user_pools: list[AksPoolArgs]
    """CPU and GPU pools created as AgentPool resources (mode User)."""
    admin_group_ids: list[str]
    """Entra ID groups with cluster admin (AKS RBAC Cluster Admin, and aadProfile admin groups)."""
    user_group_ids: list[str]
    """Entra ID groups (ml-engineer, data-scientist) allowed to fetch user credentials."""
    disk_encryption_set_id: pulumi.Input[str]
    """Disk encryption set (customer-managed key) for OS and data disks of every node."""
    kms_key_id: pulumi.Input[str]
    """Versioned Key Vault key URI for etcd encryption (KMS); a new key version rolls in on the next ``pulumi up``."""
    key_vault_id: pulumi.Input[str]
    """The vault holding ``kms_key_id``."""
    workspace_id: pulumi.Input[str]
    """Log Analytics workspace for control-plane logs and Container insights."""
    service_cidr: str = "172.20.0.0/16"
    dns_service_ip: str = "172.20.0.10"
    pod_cidr: str = "192.168.0.0/16"
    """Overlay range for pod IPs; never routed in the VNet."""
    network_policy: str = "calico"
    """Kubernetes NetworkPolicy engine enforcing the platform's default-deny policies: one of
    :data:`NETWORK_POLICY_ENGINES`; without one every NetworkPolicy is inert, so ``none`` is refused."""
    https_proxy: str | None = None
    """Forward proxy (``http://<ip>:<port>``) AKS hands to nodes and pods as HTTP(S)_PROXY: the way out to
    destinations without a private endpoint (Entra ID's token endpoint); ``None``: no proxy."""
    no_proxy: list[str] = field(default_factory=list)
    """With ``https_proxy``: destinations reached directly (the VNet, private-endpoint DNS suffixes); AKS adds the
    cluster's own service and pod ranges and API server names."""
    sku_tier: str = "Standard"
    """``Standard``: the financially backed API server SLA production needs."""
    availability_zones: list[str] = field(default_factory=lambda: ["1", "2", "3"])
    install_gpu_driver: bool = True
    """AKS installs the NVIDIA driver on GPU nodes (the GPU Operator then runs with its driver off)."""
    public_api_server: bool = False
    """Safeguard switch: True makes the API server public. Off by default; turning it on is reviewed."""
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.admin_group_ids:
            raise InputError("AksClusterArgs.admin_group_ids: at least one Entra ID admin group is required")
        names = [self.system_pool.name, *(p.name for p in self.user_pools)]
        if len(set(names)) != len(names):
            raise InputError(f"AksClusterArgs: node pool names must be unique: {names}")
        if self.system_pool.kind == "gpu" or self.system_pool.spot:
            raise InputError("AksClusterArgs.system_pool must be on-demand CPU capacity")
        if self.network_policy not in NETWORK_POLICY_ENGINES:
            raise InputError(
                f"AksClusterArgs.network_policy: {self.network_policy!r} does not enforce NetworkPolicy; "
                f"allowed: {', '.join(NETWORK_POLICY_ENGINES)}"
            )


class AksCluster(pulumi.ComponentResource):
    """Private AKS cluster, its control-plane identity and role assignments, user pools and diagnostics."""

    def __init__(self, name: str, args: AksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:azure:AksCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=f"id-{args.cluster_name}",
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=tags,
            opts=child,
        )
        principal = self.identity.principal_id
        grants = [
            assign_role(
                f"{name}-subnet-network-contributor",
                scope=args.node_subnet_id,
                role=NETWORK_CONTRIBUTOR,
                principal_id=principal,
                principal_type="ServicePrincipal",
                subscription_id=args.subscription_id,
                parent=self,
            ),
            assign_role(
                f"{name}-des-reader",
                scope=args.disk_encryption_set_id,
                role=READER,
                principal_id=principal,
                principal_type="ServicePrincipal",
                subscription_id=args.subscription_id,
                parent=self,
            ),
            assign_role(
                f"{name}-kms-crypto-user",
                scope=args.key_vault_id,
                role=KEY_VAULT_CRYPTO_USER,
                principal_id=principal,
                principal_type="ServicePrincipal",
                subscription_id=args.subscription_id,
                parent=self,
            ),
            # KMS with a private vault: AKS creates its own private endpoint to the vault.
            assign_role(
                f"{name}-kms-vault-contributor",
                scope=args.key_vault_id,
                role=KEY_VAULT_CONTRIBUTOR,
                principal_id=principal,
                principal_type="ServicePrincipal",
                subscription_id=args.subscription_id,
                parent=self,
            ),
        ]
        private = not args.public_api_server
        self.cluster = containerservice.ManagedCluster(
            f"{name}-cluster",
            resource_name_=args.cluster_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            dns_prefix=args.cluster_name,
            kubernetes_version=args.kubernetes_version,
            node_resource_group=pulumi.Output.concat(args.resource_group_name, "-nodes"),
            sku={"name": "Base", "tier": args.sku_tier},
            identity={"type": "UserAssigned", "user_assigned_identities": [self.identity.id]},
            enable_rbac=True,
            disable_local_accounts=True,
            aad_profile={
                "managed": True,
                "enable_azure_rbac": True,
                "admin_group_object_ids": list(args.admin_group_ids),
                "tenant_id": args.tenant_id,
            },
            api_server_access_profile={
                "enable_private_cluster": private,
                "enable_private_cluster_public_fqdn": False,
                "private_dns_zone": "system" if private else None,
                "disable_run_command": True,
            },
            public_network_access="Disabled" if private else "Enabled",
            addon_profiles={
                "azurepolicy": {"enabled": True, "config": {"version": "v2"}},
                "omsagent": {
                    "enabled": True,
                    "config": {"logAnalyticsWorkspaceResourceID": args.workspace_id, "useAADAuth": "true"},
                },
                "azureKeyvaultSecretsProvider": {"enabled": True, "config": {"enableSecretRotation": "true"}},
            },
            oidc_issuer_profile={"enabled": True},
            security_profile={
                "workload_identity": {"enabled": True},
                "image_cleaner": {"enabled": True, "interval_hours": 168},
                "azure_key_vault_kms": {
                    "enabled": True,
                    "key_id": args.kms_key_id,
                    "key_vault_network_access": "Private",
                    "key_vault_resource_id": args.key_vault_id,
                },
            },
            network_profile={
                "network_plugin": "azure",
                "network_plugin_mode": "overlay",
                "network_policy": args.network_policy,
                "pod_cidr": args.pod_cidr,
                "service_cidr": args.service_cidr,
                "dns_service_ip": args.dns_service_ip,
                "load_balancer_sku": "standard",
                "outbound_type": "loadBalancer",
            },
            http_proxy_config=(
                {"http_proxy": args.https_proxy, "https_proxy": args.https_proxy, "no_proxy": list(args.no_proxy)}
                if args.https_proxy
                else None
            ),
            auto_upgrade_profile={"upgrade_channel": "patch", "node_os_upgrade_channel": "NodeImage"},
            disk_encryption_set_id=args.disk_encryption_set_id,
            agent_pool_profiles=[
                {**self._pool_spec(args.system_pool, args), "name": args.system_pool.name, "mode": "System"}
            ],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=grants),
        )
        self.pools: list[containerservice.AgentPool] = [
            containerservice.AgentPool(
                f"{name}-pool-{pool.name}",
                agent_pool_name=pool.name,
                resource_name_=self.cluster.name,
                resource_group_name=args.resource_group_name,
                mode="User",
                **self._pool_spec(pool, args),
                opts=child,
            )
            for pool in args.user_pools
        ]
        for index, group in enumerate(args.admin_group_ids):
            assign_role(
                f"{name}-admins-{index}",
                scope=self.cluster.id,
                role=AKS_RBAC_CLUSTER_ADMIN,
                principal_id=group,
                principal_type="Group",
                subscription_id=args.subscription_id,
                parent=self,
            )
        for index, group in enumerate(dict.fromkeys(args.user_group_ids)):
            assign_role(
                f"{name}-users-{index}",
                scope=self.cluster.id,
                role=AKS_CLUSTER_USER,
                principal_id=group,
                principal_type="Group",
                subscription_id=args.subscription_id,
                parent=self,
            )
        send_diagnostics(
            f"{name}-diagnostics",
            resource_id=self.cluster.id,
            workspace_id=args.workspace_id,
            log_categories=AKS_LOG_CATEGORIES,
            resource_specific_tables=True,
            parent=self,
        )
        self.cluster_name: pulumi.Output[str] = self.cluster.name
        self.private_fqdn: pulumi.Output[str] = self.cluster.private_fqdn
        self.endpoint: pulumi.Output[str] = self.cluster.private_fqdn if private else self.cluster.fqdn
        self.oidc_issuer_url: pulumi.Output[str] = self.cluster.oidc_issuer_profile.apply(lambda p: p.issuer_url)
        self.register_outputs(
            {"clusterName": self.cluster_name, "endpoint": self.endpoint, "oidcIssuerUrl": self.oidc_issuer_url}
        )

    @staticmethod
    def _pool_spec(pool: AksPoolArgs, args: AksClusterArgs) -> dict:
        """Settings shared by the system pool (inline profile) and the user pools (AgentPool resources)."""
        spec = {
            "vm_size": pool.vm_size,
            "count": pool.count,
            "min_count": pool.min_count,
            "max_count": pool.max_count,
            "enable_auto_scaling": True,
            "enable_encryption_at_host": True,
            "enable_node_public_ip": False,
            "os_type": "Linux",
            "os_sku": "Ubuntu",
            "os_disk_type": "Ephemeral" if pool.ephemeral_os_disk else "Managed",
            "max_pods": pool.max_pods,
            "os_disk_size_gb": pool.os_disk_size_gb,
            "type": "VirtualMachineScaleSets",
            "vnet_subnet_id": args.node_subnet_id,
            "availability_zones": list(args.availability_zones),
            "orchestrator_version": args.kubernetes_version,
            "node_labels": pool.node_labels,
            "node_taints": pool.node_taints,
            "tags": dict(args.tags),
        }
        if pool.spot:
            spec.update(scale_set_priority="Spot", scale_set_eviction_policy="Delete", spot_max_price=-1)
        else:
            spec["upgrade_settings"] = {"max_surge": "33%"}
        if pool.kind == "gpu":
            spec["gpu_profile"] = {"driver": "Install" if args.install_gpu_driver else "None"}
        return spec

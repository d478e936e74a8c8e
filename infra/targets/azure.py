"""Azure target: landing zone, Key Vault + CMK, private AKS with GPU pools, private encrypted storage, Defender for
Containers and the subscription's Activity Log exported to Log Analytics.

Everything lives in one resource group in ``cfg.region`` and carries ``cfg.tags``. The Kubernetes provider
authenticates with the cluster's Entra ID user kubeconfig (``exec`` format: ``kubelogin`` must be on PATH where
``pulumi up`` runs, and that machine must reach the private API server).
"""

from __future__ import annotations

import base64
import hashlib

import pulumi
from pulumi_azure_native import authorization, containerservice

from components.azure.aks import AksCluster, AksClusterArgs, AksPoolArgs, taint_string
from components.azure.detection import AzureThreatDetection, AzureThreatDetectionArgs
from components.azure.foundation import AzureFoundation, AzureFoundationArgs
from components.azure.keyvault import AzureKeyVault, AzureKeyVaultArgs
from components.azure.storage import AzureBucketArgs, AzureStorage, AzureStorageArgs
from infra.config import NodePool, StackConfig
from infra.targets import TargetCluster
from infra.targets.egress import egress_endpoints

PRIVATE_ENDPOINT_SUFFIXES = (".blob.core.windows.net", ".dfs.core.windows.net", ".vault.azure.net")
"""Services the platform reaches over private endpoints in the VNet: direct, never through the proxy."""


def _suffix() -> str:
    """Six hex characters fixed per project/stack: makes globally unique names (vault, storage) repeatable."""
    return hashlib.sha256(f"{pulumi.get_project()}/{pulumi.get_stack()}".encode()).hexdigest()[:6]


def _pool(pool: NodePool) -> AksPoolArgs:
    return AksPoolArgs(
        name=pool.name,
        vm_size=pool.instance_type or "",
        min_count=pool.min_size,
        max_count=pool.max_size,
        count=pool.desired,
        kind=pool.kind,
        gpu_model=pool.gpu_model,
        gpu_count=pool.gpu_count,
        spot=pool.capacity == "spot",
        os_disk_size_gb=pool.disk_size_gb,
        ephemeral_os_disk=pool.role == "system",
        labels=dict(pool.labels),
        taints=[taint_string(t.key, t.value, t.effect) for t in pool.taints],
    )


def build(cfg: StackConfig) -> TargetCluster:
    assert cfg.network is not None  # the config schema requires it for target azure
    egress = egress_endpoints(cfg)
    base = f"mlops-{cfg.environment}"
    suffix = _suffix()
    tags = dict(cfg.tags)
    client = authorization.get_client_config_output()

    foundation = AzureFoundation(
        "foundation",
        AzureFoundationArgs(
            resource_group_name=f"rg-{base}-{cfg.region}",
            location=cfg.region,
            vnet_cidr=cfg.network.cidr,
            subnet_cidrs=list(cfg.network.private_subnets),
            tags=tags,
        ),
    )
    rg = foundation.resource_group_name
    vault = AzureKeyVault(
        "keyvault",
        AzureKeyVaultArgs(
            resource_group_name=rg,
            location=cfg.region,
            vault_name=f"kv-mlops-{cfg.environment}-{suffix}",
            tenant_id=client.tenant_id,
            subscription_id=client.subscription_id,
            deployer_object_id=client.object_id,
            services_subnet_id=foundation.services_subnet_id,
            private_dns_zone_id=foundation.private_dns_zones["vault"].id,
            workspace_id=foundation.workspace.id,
            tags=tags,
        ),
    )
    system = next(p for p in cfg.node_pools if p.role == "system")
    aks = AksCluster(
        "aks",
        AksClusterArgs(
            resource_group_name=rg,
            location=cfg.region,
            cluster_name=f"aks-{base}",
            kubernetes_version=cfg.kubernetes_version,
            subscription_id=client.subscription_id,
            tenant_id=client.tenant_id,
            node_subnet_id=foundation.nodes_subnet_id,
            system_pool=_pool(system),
            user_pools=[_pool(p) for p in cfg.node_pools if p is not system],
            admin_group_ids=list(cfg.identity.platform_admin),
            user_group_ids=[*cfg.identity.ml_engineer, *cfg.identity.data_scientist],
            disk_encryption_set_id=vault.disk_encryption_set.id,
            kms_key_id=vault.key.key_uri_with_version,
            key_vault_id=vault.vault.id,
            workspace_id=foundation.workspace.id,
            service_cidr=cfg.network.service_cidr,
            dns_service_ip=cfg.network.dns_service_ip,
            install_gpu_driver=cfg.safeguards.gpu_driver_preinstalled,
            public_api_server=cfg.safeguards.public_cluster_endpoint,
            https_proxy=cfg.egress.proxy,
            no_proxy=[cfg.network.cidr, *PRIVATE_ENDPOINT_SUFFIXES],
            tags=tags,
        ),
    )
    store = AzureStorage(
        "storage",
        AzureStorageArgs(
            resource_group_name=rg,
            location=cfg.region,
            account_name_prefix=f"st{suffix}",
            buckets=[
                AzureBucketArgs(
                    name=b.name,
                    purpose=b.purpose,
                    object_lock_days=b.object_lock_days,
                    expire_noncurrent_after_days=b.expire_noncurrent_after_days,
                    cool_after_days=b.transition_to_infrequent_after_days,
                    expire_after_days=b.expiry_days,
                )
                for b in cfg.buckets
            ],
            key_vault_uri=vault.vault_uri,
            key_name=vault.key.name,
            encryption_identity_id=vault.identity.id,
            services_subnet_id=foundation.services_subnet_id,
            blob_dns_zone_id=foundation.private_dns_zones["blob"].id,
            dfs_dns_zone_id=foundation.private_dns_zones["dfs"].id,
            workspace_id=foundation.workspace.id,
            tags=tags,
            depends_on=[vault.identity_can_use_key],
        ),
    )
    # Defender for Containers and the Activity Log export: docs/security-detection-and-audit.md, CKV_MLOPS_362/363.
    AzureThreatDetection(
        "threat-detection",
        AzureThreatDetectionArgs(subscription_id=client.subscription_id, workspace_id=foundation.workspace.id),
    )
    credentials = containerservice.list_managed_cluster_user_credentials_output(
        resource_group_name=rg, resource_name=aks.cluster_name, format="exec"
    )
    kubeconfig: pulumi.Output[str] = pulumi.Output.secret(
        credentials.kubeconfigs.apply(lambda configs: base64.b64decode(configs[0].value).decode())  # type: ignore[arg-type]
    )
    provider = _kubernetes_provider(kubeconfig, aks)
    return TargetCluster(
        egress=egress,
        provider=provider,
        cluster_name=aks.cluster_name,
        endpoint=aks.endpoint,
        buckets=dict(store.uris),
        encryption_key=vault.key_uri,
        network={
            "resource_group_name": rg,
            "location": cfg.region,
            "vnet_id": foundation.vnet.id,
            "vnet_name": foundation.vnet.name,
            "services_subnet_id": foundation.services_subnet_id,
            "key_vault_id": vault.vault.id,
            "encryption_identity_id": vault.identity.id,
            "log_analytics_workspace_id": foundation.workspace.id,
        },
        workload_identity={"oidc_issuer_url": aks.oidc_issuer_url, "resource_group_name": rg},
        dependencies=list(aks.pools),
        outputs={
            "resourceGroupName": rg,
            "keyVaultUri": vault.vault_uri,
            "oidcIssuerUrl": aks.oidc_issuer_url,
            "storageAccounts": {purpose: account.name for purpose, account in store.accounts.items()},
        },
    )


def _kubernetes_provider(kubeconfig: pulumi.Output[str], aks: AksCluster):
    import pulumi_kubernetes as kubernetes

    return kubernetes.Provider(
        "aks",
        kubeconfig=kubeconfig,
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(depends_on=[aks.cluster]),
    )

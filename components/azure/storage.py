"""Encrypted, private Azure Storage for the platform's buckets: one account per purpose, one container per bucket.

One account per purpose (data, models, artifacts, logs) keeps blast radius, access grants and immutability
apart: a models account can hold version-level WORM containers without affecting datasets. Every account:
customer-managed key from Key Vault through a user-assigned identity (auto-rotating: no key version pinned),
infrastructure (double) encryption, TLS 1.2 minimum, HTTPS only, no public blob access, no shared keys (Entra
ID only), public network access disabled with default-deny network rules (trusted Azure services bypass), blob
and container soft delete, versioning, change feed, private endpoints for ``blob`` and ``dfs`` in the services
subnet, and diagnostic settings to Log Analytics. A bucket with ``object_lock_days`` gets version-level
immutability with that retention (left unlocked: locking is irreversible, an operator does it after review).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import storage

from components.azure.common import private_endpoint, send_diagnostics
from components.errors import InputError

_CONTAINER = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")


@dataclass
class AzureBucketArgs:
    name: str
    """Container name (3-63 lowercase letters, digits, single hyphens)."""
    purpose: str = "data"
    """Which account holds it: data, models, artifacts or logs."""
    object_lock_days: int | None = None
    """Version-level WORM retention in days; None for none."""
    expire_noncurrent_after_days: int = 90
    """Delete superseded versions after this many days (not for WORM containers)."""
    cool_after_days: int | None = 30
    """Move blobs to the cool tier after this many days without modification; None keeps them hot."""
    expire_after_days: int | None = None
    """Delete current blobs this many days after creation (personal data: storage limitation); None keeps them."""

    def __post_init__(self) -> None:
        if not _CONTAINER.match(self.name):
            raise InputError(
                f"bucket {self.name!r}: Azure container names are 3-63 lowercase letters, digits and single hyphens"
            )


@dataclass
class AzureStorageArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    """Azure region of the accounts (zone-redundant storage within it)."""
    account_name_prefix: str
    """Lowercase letters/digits; account names are ``<prefix><purpose>`` cut to 24 characters, globally unique."""
    buckets: list[AzureBucketArgs]
    key_vault_uri: pulumi.Input[str]
    """Vault holding the customer-managed key."""
    key_name: pulumi.Input[str]
    """Key name, without version: Storage follows the key's rotation on its own."""
    encryption_identity_id: pulumi.Input[str]
    """User-assigned identity holding Key Vault Crypto Service Encryption User on the vault."""
    services_subnet_id: pulumi.Input[str]
    """Subnet for the accounts' private endpoints."""
    blob_dns_zone_id: pulumi.Input[str]
    """``privatelink.blob.core.windows.net`` zone id."""
    dfs_dns_zone_id: pulumi.Input[str]
    """``privatelink.dfs.core.windows.net`` zone id (``abfss://`` goes through the dfs endpoint)."""
    workspace_id: pulumi.Input[str]
    """Log Analytics workspace for account metrics and blob access logs."""
    tags: dict[str, str] = field(default_factory=dict)
    soft_delete_days: int = 30
    """Retention of deleted blobs and containers (and of the change feed)."""
    allow_public_network_access: bool = False
    """Safeguard switch: True enables the public endpoint (still default-deny network rules). Off by default."""
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    """Resources the accounts wait for (the identity's role assignment on the vault)."""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9]{2,13}", self.account_name_prefix):
            raise InputError("AzureStorageArgs.account_name_prefix must be 3-14 lowercase letters and digits")
        names = [b.name for b in self.buckets]
        if len(set(names)) != len(names):
            raise InputError(f"AzureStorageArgs.buckets: names must be unique: {names}")

    def account_name(self, purpose: str) -> str:
        return f"{self.account_name_prefix}{purpose}"[:24]


class AzureStorage(pulumi.ComponentResource):
    """Storage accounts (one per purpose) with a private container per bucket."""

    def __init__(self, name: str, args: AzureStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:azure:Storage", name, None, opts)
        tags = dict(args.tags)
        self.accounts: dict[str, storage.StorageAccount] = {}
        self._blob_services: dict[str, storage.BlobServiceProperties] = {}
        self.containers: dict[str, storage.BlobContainer] = {}
        self.uris: dict[str, pulumi.Output[str]] = {}
        purposes = list(dict.fromkeys(b.purpose for b in args.buckets))
        for purpose in purposes:
            buckets = [b for b in args.buckets if b.purpose == purpose]
            account = self._account(name, purpose, args, tags)
            self.accounts[purpose] = account
            for bucket in buckets:
                worm = bucket.object_lock_days is not None
                container = storage.BlobContainer(
                    f"{name}-{bucket.name}-container",
                    container_name=bucket.name,
                    account_name=account.name,
                    resource_group_name=args.resource_group_name,
                    public_access="None",
                    immutable_storage_with_versioning={"enabled": True} if worm else None,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[self._blob_services[purpose]]),
                )
                if worm:
                    storage.BlobContainerImmutabilityPolicy(
                        f"{name}-{bucket.name}-worm",
                        account_name=account.name,
                        container_name=container.name,
                        resource_group_name=args.resource_group_name,
                        immutability_policy_name="default",
                        immutability_period_since_creation_in_days=bucket.object_lock_days,
                        allow_protected_append_writes_all=False,
                        opts=pulumi.ResourceOptions(parent=self),
                    )
                self.containers[bucket.name] = container
                self.uris[bucket.name] = pulumi.Output.format(
                    "abfss://{0}@{1}.dfs.core.windows.net", container.name, account.name
                )
            self._lifecycle(name, purpose, account, buckets, args)
        self.register_outputs({"accounts": {p: a.id for p, a in self.accounts.items()}, "uris": self.uris})

    def _account(self, name: str, purpose: str, args: AzureStorageArgs, tags: dict[str, str]) -> storage.StorageAccount:
        child = pulumi.ResourceOptions(parent=self)
        account = storage.StorageAccount(
            f"{name}-{purpose}-account",
            account_name=args.account_name(purpose),
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="StorageV2",
            sku={"name": "Standard_ZRS"},
            access_tier="Hot",
            identity={"type": "UserAssigned", "user_assigned_identities": [args.encryption_identity_id]},
            encryption={
                "key_source": "Microsoft.Keyvault",
                "key_vault_properties": {"key_vault_uri": args.key_vault_uri, "key_name": args.key_name},
                "encryption_identity": {"encryption_user_assigned_identity": args.encryption_identity_id},
                "require_infrastructure_encryption": True,
                "services": {
                    "blob": {"enabled": True, "key_type": "Account"},
                    "file": {"enabled": True, "key_type": "Account"},
                    "queue": {"enabled": True, "key_type": "Account"},
                    "table": {"enabled": True, "key_type": "Account"},
                },
            },
            minimum_tls_version="TLS1_2",
            enable_https_traffic_only=True,
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            allow_cross_tenant_replication=False,
            allowed_copy_scope="PrivateLink",
            public_network_access="Enabled" if args.allow_public_network_access else "Disabled",
            network_rule_set={
                "default_action": "Deny",
                "bypass": "AzureServices",
                "ip_rules": [],
                "virtual_network_rules": [],
            },
            tags={**tags, "purpose": purpose},
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self._blob_services[purpose] = storage.BlobServiceProperties(
            f"{name}-{purpose}-blob-service",
            account_name=account.name,
            resource_group_name=args.resource_group_name,
            blob_services_name="default",
            is_versioning_enabled=True,
            change_feed={"enabled": True, "retention_in_days": max(args.soft_delete_days, 7)},
            delete_retention_policy={"enabled": True, "days": args.soft_delete_days},
            container_delete_retention_policy={"enabled": True, "days": args.soft_delete_days},
            opts=child,
        )
        for sub_resource, zone in (("blob", args.blob_dns_zone_id), ("dfs", args.dfs_dns_zone_id)):
            private_endpoint(
                f"{name}-{purpose}-{sub_resource}",
                resource_id=account.id,
                group_id=sub_resource,
                subnet_id=args.services_subnet_id,
                dns_zone_id=zone,
                resource_group_name=args.resource_group_name,
                location=args.location,
                tags=tags,
                parent=self,
            )
        send_diagnostics(
            f"{name}-{purpose}-diagnostics",
            resource_id=account.id,
            workspace_id=args.workspace_id,
            log_category_group=None,
            parent=self,
        )
        send_diagnostics(
            f"{name}-{purpose}-blob-diagnostics",
            resource_id=pulumi.Output.concat(account.id, "/blobServices/default"),
            workspace_id=args.workspace_id,
            parent=self,
        )
        return account

    def _lifecycle(
        self,
        name: str,
        purpose: str,
        account: storage.StorageAccount,
        buckets: list[AzureBucketArgs],
        args: AzureStorageArgs,
    ) -> None:
        """Expire old versions, cool idle blobs and expire current blobs of personal-data containers, per container;
        WORM containers keep every version."""
        rules = []
        for bucket in buckets:
            if bucket.object_lock_days is not None:
                continue
            actions: dict = {
                "version": {"delete": {"days_after_creation_greater_than": bucket.expire_noncurrent_after_days}}
            }
            base_blob: dict = {}
            if bucket.cool_after_days is not None:
                base_blob["tier_to_cool"] = {"days_after_modification_greater_than": bucket.cool_after_days}
            if bucket.expire_after_days is not None:
                base_blob["delete"] = {"days_after_creation_greater_than": bucket.expire_after_days}
            if base_blob:
                actions["base_blob"] = base_blob
            rules.append(
                {
                    "name": f"{bucket.name}-lifecycle",
                    "enabled": True,
                    "type": "Lifecycle",
                    "definition": {
                        "filters": {"blob_types": ["blockBlob"], "prefix_match": [f"{bucket.name}/"]},
                        "actions": actions,
                    },
                }
            )
        if rules:
            storage.ManagementPolicy(
                f"{name}-{purpose}-lifecycle",
                account_name=account.name,
                resource_group_name=args.resource_group_name,
                management_policy_name="default",
                policy={"rules": rules},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self._blob_services[purpose]]),
            )

"""Key Vault holding the platform's customer-managed key, and the identities that may use it.

The vault is RBAC-authorised, purge-protected, soft-deleting, closed to the public network (reachable through a
private endpoint; trusted Azure services such as Storage and disk encryption bypass the firewall). The RSA key
rotates on a policy; a user-assigned identity with *Key Vault Crypto Service Encryption User* lets Storage and a
disk encryption set (for AKS node disks) wrap their data keys with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import compute, keyvault, managedidentity

from components.azure.common import (
    KEY_VAULT_CRYPTO_OFFICER,
    KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER,
    assign_role,
    private_endpoint,
    send_diagnostics,
)
from components.errors import InputError


@dataclass
class AzureKeyVaultArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    """Azure region of the vault, identity and disk encryption set."""
    vault_name: str
    """Globally unique, 3-24 characters; purge protection reserves it for the retention period after deletion."""
    tenant_id: pulumi.Input[str]
    """Entra ID tenant that authorises access to the vault."""
    subscription_id: pulumi.Input[str]
    """Subscription of the built-in role definitions assigned here."""
    deployer_object_id: pulumi.Input[str]
    """Object id of the principal running Pulumi: it gets Key Vault Crypto Officer to create and rotate the key."""
    services_subnet_id: pulumi.Input[str]
    """Subnet for the vault's private endpoint."""
    private_dns_zone_id: pulumi.Input[str]
    """``privatelink.vaultcore.azure.net`` zone id."""
    workspace_id: pulumi.Input[str]
    """Log Analytics workspace for the vault's audit logs."""
    tags: dict[str, str] = field(default_factory=dict)
    deployer_principal_type: str = "ServicePrincipal"
    """``ServicePrincipal`` for CI (service principal or workload identity); ``User`` when a person runs Pulumi."""
    key_size: int = 3072
    """RSA key size in bits (HSM-backed); at least 3072."""
    rotate_after: str = "P180D"
    """ISO 8601 duration after which a new key version is created."""
    key_expires_after: str = "P2Y"
    """Lifetime of each key version (ISO 8601); Key Vault notifies 30 days before expiry."""
    soft_delete_retention_days: int = 90
    """How long deleted vaults and keys stay recoverable (7-90 days)."""
    allow_public_network_access: bool = False
    """Safeguard switch: True opens the vault's public endpoint (still default-deny network ACLs). Off by default."""

    def __post_init__(self) -> None:
        if self.key_size < 3072:
            raise InputError(
                f"AzureKeyVaultArgs.key_size = {self.key_size}: customer-managed keys must be RSA 3072 or larger"
            )
        if not 7 <= self.soft_delete_retention_days <= 90:
            raise InputError("AzureKeyVaultArgs.soft_delete_retention_days must lie between 7 and 90")


class AzureKeyVault(pulumi.ComponentResource):
    """Vault + CMK + encryption identity + disk encryption set, with diagnostics and a private endpoint."""

    def __init__(self, name: str, args: AzureKeyVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:azure:KeyVault", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.vault = keyvault.Vault(
            f"{name}-vault",
            vault_name=args.vault_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties={
                "tenant_id": args.tenant_id,
                "sku": {"family": "A", "name": "premium"},
                "enable_rbac_authorization": True,
                "enable_soft_delete": True,
                "soft_delete_retention_in_days": args.soft_delete_retention_days,
                "enable_purge_protection": True,
                "enabled_for_deployment": False,
                "enabled_for_template_deployment": False,
                "enabled_for_disk_encryption": False,
                "public_network_access": "Enabled" if args.allow_public_network_access else "Disabled",
                "network_acls": {"default_action": "Deny", "bypass": "AzureServices"},
            },
            tags=tags,
            opts=child,
        )
        deployer = assign_role(
            f"{name}-deployer-crypto-officer",
            scope=self.vault.id,
            role=KEY_VAULT_CRYPTO_OFFICER,
            principal_id=args.deployer_object_id,
            principal_type=args.deployer_principal_type,
            subscription_id=args.subscription_id,
            parent=self,
        )
        self.key = keyvault.Key(
            f"{name}-cmk",
            key_name="platform-cmk",
            vault_name=self.vault.name,
            resource_group_name=args.resource_group_name,
            properties={
                "kty": "RSA-HSM",
                "key_size": args.key_size,
                "key_ops": ["wrapKey", "unwrapKey", "encrypt", "decrypt"],
                "attributes": {"enabled": True, "exportable": False},
                "rotation_policy": {
                    "attributes": {"expiry_time": args.key_expires_after},
                    "lifetime_actions": [
                        {"trigger": {"time_after_create": args.rotate_after}, "action": {"type": "rotate"}},
                        {"trigger": {"time_before_expiry": "P30D"}, "action": {"type": "notify"}},
                    ],
                },
            },
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[deployer]),
        )
        self.identity = managedidentity.UserAssignedIdentity(
            f"{name}-cmk-identity",
            resource_name_=f"id-{args.vault_name}-cmk",
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=tags,
            opts=child,
        )
        self.identity_can_use_key = assign_role(
            f"{name}-cmk-identity-crypto-user",
            scope=self.vault.id,
            role=KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER,
            principal_id=self.identity.principal_id,
            principal_type="ServicePrincipal",
            subscription_id=args.subscription_id,
            parent=self,
        )
        self.disk_encryption_set = compute.DiskEncryptionSet(
            f"{name}-des",
            disk_encryption_set_name=f"des-{args.vault_name}",
            resource_group_name=args.resource_group_name,
            location=args.location,
            encryption_type="EncryptionAtRestWithCustomerKey",
            identity={"type": "UserAssigned", "user_assigned_identities": [self.identity.id]},
            active_key={"key_url": self.key.key_uri_with_version, "source_vault": {"id": self.vault.id}},
            rotation_to_latest_key_version_enabled=True,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.identity_can_use_key]),
        )
        private_endpoint(
            f"{name}-vault",
            resource_id=self.vault.id,
            group_id="vault",
            subnet_id=args.services_subnet_id,
            dns_zone_id=args.private_dns_zone_id,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=tags,
            parent=self,
        )
        send_diagnostics(
            f"{name}-vault-diagnostics", resource_id=self.vault.id, workspace_id=args.workspace_id, parent=self
        )
        self.vault_uri: pulumi.Output[str] = self.vault.properties.apply(lambda p: p.vault_uri)
        self.key_uri: pulumi.Output[str] = self.key.key_uri
        self.register_outputs(
            {
                "vaultId": self.vault.id,
                "vaultUri": self.vault_uri,
                "keyUri": self.key_uri,
                "identityId": self.identity.id,
                "diskEncryptionSetId": self.disk_encryption_set.id,
            }
        )

"""Key Vault and the customer-managed key: purge protection, RBAC, private, rotated RSA 3072+, scoped identity."""

from __future__ import annotations

import pytest

from components.azure.common import KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER
from components.azure.keyvault import AzureKeyVaultArgs
from tests.conftest import of_type, one


def test_vault_is_purge_protected_soft_deleting_rbac_and_private(azure_prod):
    props = one(azure_prod, "azure-native:keyvault:Vault").inputs["properties"]
    assert props["enablePurgeProtection"] is True
    assert props["enableSoftDelete"] is True and props["softDeleteRetentionInDays"] == 90
    assert props["enableRbacAuthorization"] is True
    assert "accessPolicies" not in props
    assert props["publicNetworkAccess"] == "Disabled"
    assert props["networkAcls"] == {"defaultAction": "Deny", "bypass": "AzureServices"}
    assert props["sku"]["name"] == "premium"


def test_cmk_is_rsa_3072_or_more_and_rotates(azure_prod):
    key = one(azure_prod, "azure-native:keyvault:Key").inputs["properties"]
    assert key["kty"].startswith("RSA") and key["keySize"] >= 3072
    assert key["attributes"]["exportable"] is False
    actions = {a["action"]["type"]: a["trigger"] for a in key["rotationPolicy"]["lifetimeActions"]}
    assert actions["rotate"] == {"timeAfterCreate": "P180D"}
    assert "timeBeforeExpiry" in actions["notify"]
    assert key["rotationPolicy"]["attributes"]["expiryTime"] == "P2Y"


def test_only_the_encryption_identity_gets_crypto_service_encryption_user(azure_prod):
    vault_id = one(azure_prod, "azure-native:keyvault:Vault").outputs["id"]
    identity = one(azure_prod, "azure-native:managedidentity:UserAssignedIdentity", "keyvault-cmk-identity")
    grants = [
        r.inputs
        for r in of_type(azure_prod, "azure-native:authorization:RoleAssignment")
        if r.inputs["roleDefinitionId"].endswith(KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER)
    ]
    assert grants == [
        {
            "scope": vault_id,
            "roleDefinitionId": grants[0]["roleDefinitionId"],
            "principalId": identity.outputs["principalId"],
            "principalType": "ServicePrincipal",
        }
    ]
    assert grants[0]["roleDefinitionId"].startswith("/subscriptions/00000000-0000-4000-8000-000000000001/providers/")


def test_disk_encryption_set_wraps_with_the_cmk_through_the_identity(azure_prod):
    des = one(azure_prod, "azure-native:compute:DiskEncryptionSet").inputs
    key = one(azure_prod, "azure-native:keyvault:Key").outputs
    identity = one(azure_prod, "azure-native:managedidentity:UserAssignedIdentity", "keyvault-cmk-identity").outputs
    assert des["encryptionType"] == "EncryptionAtRestWithCustomerKey"
    assert des["activeKey"]["keyUrl"] == key["keyUriWithVersion"]
    assert des["rotationToLatestKeyVersionEnabled"] is True
    assert des["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity["id"]]}


def test_vault_is_reached_by_private_endpoint_and_audited(azure_prod):
    vault_id = one(azure_prod, "azure-native:keyvault:Vault").outputs["id"]
    endpoint = one(azure_prod, "azure-native:network:PrivateEndpoint", "keyvault-vault-pe").inputs
    assert endpoint["privateLinkServiceConnections"][0]["privateLinkServiceId"] == vault_id
    assert endpoint["privateLinkServiceConnections"][0]["groupIds"] == ["vault"]
    assert endpoint["subnet"]["id"].endswith("/subnets/snet-services")
    settings = [
        r.inputs
        for r in of_type(azure_prod, "azure-native:monitor:DiagnosticSetting")
        if r.inputs["resourceUri"] == vault_id
    ]
    assert len(settings) == 1
    assert settings[0]["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]
    assert settings[0]["workspaceId"].endswith("/workspaces/log-mlops-prod-uaenorth")


def _args(**overrides):
    values = {
        "resource_group_name": "rg",
        "location": "uaenorth",
        "vault_name": "kv",
        "tenant_id": "t",
        "subscription_id": "s",
        "deployer_object_id": "o",
        "services_subnet_id": "s",
        "private_dns_zone_id": "z",
        "workspace_id": "w",
    }
    return AzureKeyVaultArgs(**{**values, **overrides})


def test_small_keys_and_short_soft_delete_are_refused():
    with pytest.raises(ValueError, match="RSA 3072"):
        _args(key_size=2048)
    with pytest.raises(ValueError, match="soft_delete_retention_days"):
        _args(soft_delete_retention_days=3)


def test_public_vault_endpoint_only_through_the_explicit_switch_and_acls_still_deny():
    from components.azure.keyvault import AzureKeyVault
    from tests.conftest import run_mocked

    result = run_mocked(lambda: AzureKeyVault("kv", _args(allow_public_network_access=True)), region="uaenorth")
    props = one(result, "azure-native:keyvault:Vault").inputs["properties"]
    assert props["publicNetworkAccess"] == "Enabled"
    assert props["networkAcls"]["defaultAction"] == "Deny" and props["enablePurgeProtection"] is True
    component = one(result, "mlops:azure:KeyVault")
    assert all(r.parent == component.urn for r in result.resources if r.package == "azure-native")

"""Storage: CMK + infrastructure encryption, TLS 1.2, HTTPS only, no public or shared-key access, private, WORM."""

from __future__ import annotations

import pytest

from components.azure.storage import AzureBucketArgs, AzureStorageArgs
from tests.conftest import of_type, one

ACCOUNT = "azure-native:storage:StorageAccount"


def _accounts(result):
    return {r.inputs["accountName"]: r for r in of_type(result, ACCOUNT)}


def test_one_account_per_purpose_one_container_per_bucket(azure_prod):
    accounts = _accounts(azure_prod)
    assert sorted(name[8:] for name in accounts) == ["artifacts", "data", "models"]
    containers = {
        r.inputs["containerName"]: r.inputs["accountName"]
        for r in of_type(azure_prod, "azure-native:storage:BlobContainer")
    }
    assert {c: a[8:] for c, a in containers.items()} == {
        "datasets": "data",
        "features": "data",
        "models": "models",
        "pipeline-artifacts": "artifacts",
    }
    assert all(r.inputs["publicAccess"] == "None" for r in of_type(azure_prod, "azure-native:storage:BlobContainer"))


def test_accounts_encrypt_with_the_cmk_through_the_identity_and_infrastructure_encryption(azure_prod):
    key = one(azure_prod, "azure-native:keyvault:Key").outputs
    vault = one(azure_prod, "azure-native:keyvault:Vault").outputs
    identity_id = one(azure_prod, "azure-native:managedidentity:UserAssignedIdentity", "keyvault-cmk-identity").outputs[
        "id"
    ]
    for account in _accounts(azure_prod).values():
        encryption = account.inputs["encryption"]
        assert encryption["keySource"] == "Microsoft.Keyvault"
        assert encryption["keyVaultProperties"] == {
            "keyVaultUri": vault["properties"]["vaultUri"],
            "keyName": key["name"],
        }
        assert encryption["encryptionIdentity"] == {"encryptionUserAssignedIdentity": identity_id}
        assert encryption["requireInfrastructureEncryption"] is True
        assert account.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity_id]}


def test_accounts_require_tls12_https_entra_id_and_refuse_public_access(azure_prod):
    for account in _accounts(azure_prod).values():
        inputs = account.inputs
        assert inputs["minimumTlsVersion"] == "TLS1_2"
        assert inputs["enableHttpsTrafficOnly"] is True
        assert inputs["allowBlobPublicAccess"] is False
        assert inputs["allowSharedKeyAccess"] is False
        assert inputs["publicNetworkAccess"] == "Disabled"
        assert inputs["networkRuleSet"]["defaultAction"] == "Deny"
        assert inputs["networkRuleSet"]["bypass"] == "AzureServices"
        assert inputs["networkRuleSet"]["ipRules"] == [] and inputs["networkRuleSet"]["virtualNetworkRules"] == []


def test_soft_delete_container_soft_delete_and_versioning_on_every_account(azure_prod):
    services = of_type(azure_prod, "azure-native:storage:BlobServiceProperties")
    assert {s.inputs["accountName"] for s in services} == set(_accounts(azure_prod))
    for service in services:
        assert service.inputs["isVersioningEnabled"] is True
        assert service.inputs["deleteRetentionPolicy"] == {"enabled": True, "days": 30}
        assert service.inputs["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 30}


def test_models_bucket_gets_version_level_worm_only(azure_prod):
    containers = {
        r.inputs["containerName"]: r.inputs for r in of_type(azure_prod, "azure-native:storage:BlobContainer")
    }
    assert containers["models"]["immutableStorageWithVersioning"] == {"enabled": True}
    assert [c for c, i in containers.items() if "immutableStorageWithVersioning" in i] == ["models"]
    policy = one(azure_prod, "azure-native:storage:BlobContainerImmutabilityPolicy").inputs
    assert policy["containerName"] == "models" and policy["immutabilityPeriodSinceCreationInDays"] == 2555
    lifecycle_prefixes = [
        p
        for r in of_type(azure_prod, "azure-native:storage:ManagementPolicy")
        for rule in r.inputs["policy"]["rules"]
        for p in rule["definition"]["filters"]["prefixMatch"]
    ]
    assert "models/" not in lifecycle_prefixes and "datasets/" in lifecycle_prefixes


def test_personal_data_containers_expire_current_blobs(azure_prod):
    policies = of_type(azure_prod, "azure-native:storage:ManagementPolicy")
    rules = {
        rule["definition"]["filters"]["prefixMatch"][0]: rule["definition"]["actions"]
        for r in policies
        for rule in r.inputs["policy"]["rules"]
    }
    for prefix in ("datasets/", "features/", "pipeline-artifacts/"):
        assert rules[prefix]["baseBlob"]["delete"] == {"daysAfterCreationGreaterThan": 365}
    accounts = {r.name: r.inputs["tags"]["purpose"] for r in of_type(azure_prod, "azure-native:storage:StorageAccount")}
    assert accounts == {
        "storage-data-account": "data",
        "storage-models-account": "models",
        "storage-artifacts-account": "artifacts",
    }


def test_blob_and_dfs_private_endpoints_in_the_services_subnet(azure_prod):
    for account in _accounts(azure_prod).values():
        endpoints = [
            r.inputs
            for r in of_type(azure_prod, "azure-native:network:PrivateEndpoint")
            if r.inputs["privateLinkServiceConnections"][0]["privateLinkServiceId"] == account.outputs["id"]
        ]
        assert sorted(e["privateLinkServiceConnections"][0]["groupIds"][0] for e in endpoints) == ["blob", "dfs"]
        assert all(e["subnet"]["id"].endswith("/subnets/snet-services") for e in endpoints)
    groups = of_type(azure_prod, "azure-native:network:PrivateDnsZoneGroup")
    assert len(groups) == len(of_type(azure_prod, "azure-native:network:PrivateEndpoint"))


def test_account_metrics_and_blob_logs_go_to_log_analytics(azure_prod):
    settings = {
        r.inputs["resourceUri"]: r.inputs for r in of_type(azure_prod, "azure-native:monitor:DiagnosticSetting")
    }
    for account in _accounts(azure_prod).values():
        assert settings[account.outputs["id"]]["metrics"] == [{"category": "AllMetrics", "enabled": True}]
        blob = settings[account.outputs["id"] + "/blobServices/default"]
        assert blob["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]


def test_bucket_and_account_names_are_checked():
    with pytest.raises(ValueError, match="'ab'"):
        AzureBucketArgs(name="ab")
    with pytest.raises(ValueError, match="account_name_prefix"):
        AzureStorageArgs(
            resource_group_name="rg",
            location="uaenorth",
            account_name_prefix="Bad-Prefix",
            buckets=[],
            key_vault_uri="u",
            key_name="k",
            encryption_identity_id="i",
            services_subnet_id="s",
            blob_dns_zone_id="b",
            dfs_dns_zone_id="d",
            workspace_id="w",
        )


def test_public_storage_endpoint_only_through_the_explicit_switch_and_rules_still_deny():
    from components.azure.storage import AzureStorage
    from tests.conftest import run_mocked

    args = AzureStorageArgs(
        resource_group_name="rg",
        location="uaenorth",
        account_name_prefix="sttest",
        buckets=[AzureBucketArgs(name="datasets")],
        key_vault_uri="https://kv.vault.azure.net/",
        key_name="k",
        encryption_identity_id="/id",
        services_subnet_id="/snet",
        blob_dns_zone_id="/blob",
        dfs_dns_zone_id="/dfs",
        workspace_id="/ws",
        allow_public_network_access=True,
    )
    result = run_mocked(lambda: AzureStorage("storage", args), region="uaenorth")
    account = one(result, ACCOUNT).inputs
    assert account["publicNetworkAccess"] == "Enabled"
    assert account["networkRuleSet"]["defaultAction"] == "Deny" and account["allowSharedKeyAccess"] is False
    component = one(result, "mlops:azure:Storage")
    assert all(r.parent == component.urn for r in result.resources if r.package == "azure-native")

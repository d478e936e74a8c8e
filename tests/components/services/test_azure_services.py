"""Azure services under mocks: PostgreSQL flexible server VNet-integrated, TLS-enforced, CMK-encrypted, backups kept
in the UAE region; Azure Cache for Redis TLS-only behind a private endpoint; workload identities scoped to one
ServiceAccount and the named containers."""

from __future__ import annotations

import pytest

from components.services.azure import (
    POSTGRES_DELEGATION,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    STORAGE_BLOB_DATA_READER,
    container_scope,
    free_subnet,
)
from tests.components.services.conftest import ServicesPreview, preview_services

SERVER = "azure-native:dbforpostgresql:Server"
REDIS = "azure-native:redis:Redis"


def test_registry_server_is_private_and_vnet_integrated(azure: ServicesPreview) -> None:
    server = azure.one(SERVER, "feast-data-registry").inputs
    network = server["network"]
    assert network["publicNetworkAccess"] == "Disabled"
    assert network["delegatedSubnetResourceId"].endswith("/subnets/snet-postgres")
    assert network["privateDnsZoneArmResourceId"].endswith(".private.postgres.database.azure.com")
    subnet = azure.one("azure-native:network:Subnet", "feast-data-postgres-subnet").inputs
    assert subnet["delegations"] == [{"name": "postgres-flexible", "serviceName": POSTGRES_DELEGATION}]
    assert subnet["addressPrefix"] == "10.50.33.0/28"  # first range free of the stack's subnets
    link = azure.one("azure-native:privatedns:VirtualNetworkLink", "feast-data-dns-postgres-link").inputs
    assert link["registrationEnabled"] is False


def test_registry_enforces_tls(azure: ServicesPreview) -> None:
    settings = {
        r.inputs["configurationName"]: r.inputs["value"]
        for r in azure.of_type("azure-native:dbforpostgresql:Configuration")
    }
    assert settings["require_secure_transport"] == "on"
    assert settings["ssl_min_protocol_version"] == "TLSv1.2"


def test_registry_is_encrypted_with_the_stacks_key(azure: ServicesPreview) -> None:
    server = azure.one(SERVER, "feast-data-registry").inputs
    encryption = server["dataEncryption"]
    assert encryption["type"] == "AzureKeyVault"
    assert (
        encryption["primaryKeyURI"]
        == azure.result.outputs["keyVaultUri"].rstrip("/")
        + "/keys/"
        + encryption["primaryKeyURI"].rsplit("/keys/", 1)[1]
    )
    assert encryption["primaryUserAssignedIdentityId"] in server["identity"]["userAssignedIdentities"]


def test_registry_backups_stay_in_the_uae(azure: ServicesPreview) -> None:
    backup = azure.one(SERVER, "feast-data-registry").inputs["backup"]
    assert backup["geoRedundantBackup"] == "Disabled"
    assert backup["backupRetentionDays"] >= 7
    assert azure.one(SERVER, "feast-data-registry").inputs["location"] == "uaenorth"


def test_prod_registry_is_zone_redundant_and_dev_is_not() -> None:
    dev = preview_services("azure-uae-prod", {"environment": "dev"})
    assert dev.one(SERVER, "feast-data-registry").inputs["highAvailability"] == {"mode": "Disabled"}


def test_online_store_is_tls_only_and_private(azure: ServicesPreview) -> None:
    cache = azure.one(REDIS, "feast-data-online").inputs
    assert cache["enableNonSslPort"] is False
    assert cache["minimumTlsVersion"] == "1.2"
    assert cache["publicNetworkAccess"] == "Disabled"
    [endpoint] = [
        r.inputs
        for r in azure.of_type("azure-native:network:PrivateEndpoint")
        if r.name.startswith("feast-data-online")
    ]
    assert endpoint["privateLinkServiceConnections"][0]["groupIds"] == ["redisCache"]
    zone = azure.one("azure-native:privatedns:PrivateZone", "feast-data-dns-redis").inputs
    assert zone["privateZoneName"] == "privatelink.redis.cache.windows.net"


def _assignments(azure: ServicesPreview, prefix: str) -> dict[str, str]:
    return {
        r.inputs["scope"].rsplit("/", 1)[1]: r.inputs["roleDefinitionId"].rsplit("/", 1)[1]
        for r in azure.of_type("azure-native:authorization:RoleAssignment")
        if r.name.startswith(prefix + "-")
    }


def test_workload_identities_hold_data_roles_on_their_containers_only(azure: ServicesPreview) -> None:
    assert _assignments(azure, "feast-feature-server") == {"features": STORAGE_BLOB_DATA_READER}
    assert _assignments(azure, "kfp-pipeline-runner") == {
        "features": STORAGE_BLOB_DATA_READER,
        "models": STORAGE_BLOB_DATA_CONTRIBUTOR,
        "pipeline-artifacts": STORAGE_BLOB_DATA_CONTRIBUTOR,
    }
    assert _assignments(azure, "kserve-model-server") == {"models": STORAGE_BLOB_DATA_READER}
    for r in azure.of_type("azure-native:authorization:RoleAssignment"):
        if r.name.startswith(("feast-", "kfp-", "kserve-")):
            assert "/blobServices/default/containers/" in r.inputs["scope"]


def test_federation_trusts_one_service_account(azure: ServicesPreview) -> None:
    federation = azure.one(
        "azure-native:managedidentity:FederatedIdentityCredential", "feast-feature-server-federation"
    ).inputs
    assert federation["subject"] == "system:serviceaccount:feature-store:feast-feature-server"
    assert federation["audiences"] == ["api://AzureADTokenExchange"]
    assert federation["issuer"] == azure.result.outputs["oidcIssuerUrl"]
    account = azure.one("kubernetes:core/v1:ServiceAccount", "services-feast-server-sa").inputs
    assert "azure.workload.identity/client-id" in account["metadata"]["annotations"]
    deployment = azure.one("kubernetes:apps/v1:Deployment", "services-feast-server").inputs
    assert deployment["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"] == "true"


def test_helpers() -> None:
    assert free_subnet("10.0.0.0/16", ["10.0.0.0/28", "10.0.0.32/28"]) == "10.0.0.16/28"
    with pytest.raises(ValueError, match="no free"):
        free_subnet("10.0.0.0/28", ["10.0.0.0/28"])
    assert container_scope("abfss://models@stx.dfs.core.windows.net", "sub", "rg") == (
        "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stx/"
        "blobServices/default/containers/models"
    )

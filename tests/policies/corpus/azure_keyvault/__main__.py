"""Key Vault in the caller's tenant (authorization.get_client_config) with one secret."""

import pulumi
from pulumi_azure_native import authorization, keyvault, resources

client = authorization.get_client_config()
rg = resources.ResourceGroup("kv-rg", location="uaenorth")
vault = keyvault.Vault(
    "corpus-kv",
    resource_group_name=rg.name,
    location=rg.location,
    properties={
        "tenant_id": client.tenant_id,
        "sku": {"family": "A", "name": keyvault.SkuName.STANDARD},
        "enable_rbac_authorization": True,
    },
)
keyvault.Secret(
    "api-token",
    resource_group_name=rg.name,
    vault_name=vault.name,
    properties={"value": "not-a-real-token"},
)

pulumi.export("vault_uri", vault.properties.apply(lambda p: p.vault_uri))

"""Storage account whose first key is read with list_storage_account_keys and exported as a secret."""

import pulumi
from pulumi_azure_native import resources, storage

rg = resources.ResourceGroup("keys-rg", location="uaenorth")
account = storage.StorageAccount(
    "keyssa",
    resource_group_name=rg.name,
    location=rg.location,
    kind=storage.Kind.STORAGE_V2,
    sku={"name": storage.SkuName.STANDARD_GRS},
)
keys = storage.list_storage_account_keys_output(resource_group_name=rg.name, account_name=account.name)

pulumi.export("primary_key", pulumi.Output.secret(keys.keys[0].value))

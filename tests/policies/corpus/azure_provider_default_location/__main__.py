"""No location anywhere in the program: every resource takes it from azure-native:location (provider default)."""

import pulumi
from pulumi_azure_native import resources, storage

rg = resources.ResourceGroup("implicit-rg")
account = storage.StorageAccount(
    "implicitsa",
    resource_group_name=rg.name,
    kind=storage.Kind.STORAGE_V2,
    sku={"name": storage.SkuName.STANDARD_LRS},
)

pulumi.export("account", account.name)

"""An explicit azure-native Provider in another region (westeurope) next to the stack's default (uaenorth)."""

import pulumi
import pulumi_azure_native as azure_native
from pulumi_azure_native import resources, storage

europe = azure_native.Provider("europe", location="westeurope")
opts = pulumi.ResourceOptions(provider=europe)

rg = resources.ResourceGroup("eu-rg", opts=opts)
storage.StorageAccount(
    "eusa",
    resource_group_name=rg.name,
    kind=storage.Kind.STORAGE_V2,
    sku={"name": storage.SkuName.STANDARD_LRS},
    opts=opts,
)
home = resources.ResourceGroup("home-rg")

pulumi.export("home", home.name)

"""Storage account static website; the page comes from ./www and the URL from primary_endpoints.web."""

import pulumi
from pulumi_azure_native import resources, storage

rg = resources.ResourceGroup("site-rg", location="uaenorth")
account = storage.StorageAccount(
    "sitesa",
    resource_group_name=rg.name,
    location=rg.location,
    kind=storage.Kind.STORAGE_V2,
    sku={"name": storage.SkuName.STANDARD_LRS},
)
website = storage.StorageAccountStaticWebsite(
    "site",
    account_name=account.name,
    resource_group_name=rg.name,
    index_document="index.html",
)
storage.Blob(
    "index.html",
    account_name=account.name,
    resource_group_name=rg.name,
    container_name=website.container_name,
    source=pulumi.FileAsset("www/index.html"),
    content_type="text/html",
)

pulumi.export("url", account.primary_endpoints.apply(lambda e: e.web))

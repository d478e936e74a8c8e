"""Synapse workspace with an allow-all firewall rule and a dedicated SQL pool."""

import pulumi
from pulumi_azure_native import resources, storage, synapse

config = pulumi.Config()
rg = resources.ResourceGroup("analytics-rg", location="uaenorth")
lake = storage.StorageAccount(
    "lakesa",
    resource_group_name=rg.name,
    location=rg.location,
    kind=storage.Kind.STORAGE_V2,
    is_hns_enabled=True,
    sku={"name": storage.SkuName.STANDARD_LRS},
)
workspace = synapse.Workspace(
    "analytics-ws",
    resource_group_name=rg.name,
    location=rg.location,
    default_data_lake_storage={
        "account_url": lake.name.apply(lambda n: f"https://{n}.dfs.core.windows.net"),
        "filesystem": "workspace",
    },
    identity={"type": synapse.ResourceIdentityType.SYSTEM_ASSIGNED},
    sql_administrator_login="sqladmin",
    sql_administrator_login_password=config.require_secret("sqlPassword"),
)
synapse.IpFirewallRule(
    "allow-all",
    resource_group_name=rg.name,
    workspace_name=workspace.name,
    start_ip_address="0.0.0.0",
    end_ip_address="255.255.255.255",
)
synapse.SqlPool(
    "dw",
    resource_group_name=rg.name,
    workspace_name=workspace.name,
    location=rg.location,
    sku={"name": "DW100c"},
)

pulumi.export("workspace", workspace.name)

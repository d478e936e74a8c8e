"""Log Analytics workspace and an Application Insights component (pulumi_azure_native.applicationinsights, "insights" in azure-native 2.x)."""

import pulumi
from pulumi_azure_native import applicationinsights as insights
from pulumi_azure_native import operationalinsights, resources

rg = resources.ResourceGroup("obs-rg", location="uaenorth")
workspace = operationalinsights.Workspace(
    "obs-logs",
    resource_group_name=rg.name,
    location=rg.location,
    sku={"name": "PerGB2018"},
    retention_in_days=30,
)
app = insights.Component(
    "obs-appi",
    resource_group_name=rg.name,
    location=rg.location,
    kind="web",
    application_type=insights.ApplicationType.WEB,
    workspace_resource_id=workspace.id,
)

pulumi.export("connection_string", app.connection_string)

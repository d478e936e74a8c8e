"""App Service plan with two web apps: one allowing plain HTTP (https_only False), one HTTPS only."""

import pulumi
from pulumi_azure_native import resources, web

rg = resources.ResourceGroup("apps-rg", location="uaenorth")
plan = web.AppServicePlan(
    "apps-plan",
    resource_group_name=rg.name,
    location=rg.location,
    kind="linux",
    reserved=True,
    sku={"name": "B1", "tier": "Basic"},
)
legacy = web.WebApp(
    "legacy-app",
    resource_group_name=rg.name,
    location=rg.location,
    server_farm_id=plan.id,
    https_only=False,
    site_config={"linux_fx_version": "PYTHON|3.12"},
)
secure = web.WebApp(
    "secure-app",
    resource_group_name=rg.name,
    location=rg.location,
    server_farm_id=plan.id,
    https_only=True,
    site_config={"linux_fx_version": "PYTHON|3.12", "min_tls_version": "1.2", "ftps_state": "Disabled"},
)

pulumi.export("legacy_host", legacy.default_host_name)
pulumi.export("secure_host", secure.default_host_name)

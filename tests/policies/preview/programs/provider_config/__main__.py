import pulumi
import pulumi_aws
import pulumi_azure_native
import pulumi_azure_native.applicationinsights as appinsights
from pulumi_azure_native import network

cfg = pulumi.Config()
pulumi.export("aws_region", pulumi_aws.config.region)
pulumi.export("azure_location", pulumi_azure_native.config.location)
pulumi.export("enum", network.IPAllocationMethod.STATIC.value)
pulumi.export("submodule", appinsights.Component.__name__)
pulumi.export("token_is_secret", cfg.require_secret("token").apply(lambda v: v.startswith("[secret")))
network.PublicIPAddress("pip", resource_group_name="rg", public_ip_allocation_method=network.IPAllocationMethod.STATIC)

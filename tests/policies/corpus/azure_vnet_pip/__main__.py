"""VNet, subnet and a static public IP (network.IPAllocationMethod), read back with get_public_ip_address."""

import pulumi
from pulumi_azure_native import network, resources

rg = resources.ResourceGroup("net-rg", location="uaenorth")
vnet = network.VirtualNetwork(
    "vnet",
    resource_group_name=rg.name,
    location=rg.location,
    address_space={"address_prefixes": ["10.50.0.0/16"]},
)
network.Subnet(
    "apps",
    resource_group_name=rg.name,
    virtual_network_name=vnet.name,
    address_prefix="10.50.1.0/24",
)
ip = network.PublicIPAddress(
    "gateway-ip",
    resource_group_name=rg.name,
    location=rg.location,
    public_ip_allocation_method=network.IPAllocationMethod.STATIC,
    sku={"name": network.PublicIPAddressSkuName.STANDARD},
)
looked_up = network.get_public_ip_address_output(resource_group_name=rg.name, public_ip_address_name=ip.name)

pulumi.export("ip_address", looked_up.ip_address)

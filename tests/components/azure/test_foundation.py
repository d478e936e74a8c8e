"""Landing zone: subnets from the stack's network, NSGs denying internet inbound, private DNS, Log Analytics."""

from __future__ import annotations

import pytest

from components.azure.foundation import PRIVATE_DNS_ZONES, AzureFoundationArgs
from tests.conftest import of_type, one


def test_subnets_follow_the_stack_network_and_have_no_default_outbound(azure_prod):
    subnets = {r.inputs["subnetName"]: r.inputs for r in of_type(azure_prod, "azure-native:network:Subnet")}
    assert {k: v["addressPrefix"] for k, v in subnets.items()} == {
        "snet-aks-nodes": "10.50.0.0/20",
        "snet-services": "10.50.16.0/20",
        "snet-private-2": "10.50.32.0/24",
    }
    for subnet in subnets.values():
        assert subnet["defaultOutboundAccess"] is False
        assert subnet["networkSecurityGroup"]["id"].endswith(f"/networkSecurityGroups/nsg-{subnet['subnetName'][5:]}")
    vnet = one(azure_prod, "azure-native:network:VirtualNetwork")
    assert vnet.inputs["addressSpace"]["addressPrefixes"] == ["10.50.0.0/16"]


def test_every_nsg_denies_inbound_from_the_internet(azure_prod):
    nsgs = of_type(azure_prod, "azure-native:network:NetworkSecurityGroup")
    assert len(nsgs) == 3
    for nsg in nsgs:
        rules = nsg.inputs["securityRules"]
        deny = [r for r in rules if r["direction"] == "Inbound" and r["sourceAddressPrefix"] == "Internet"]
        assert deny and all(r["access"] == "Deny" and r["destinationPortRange"] == "*" for r in deny)
        assert not [r for r in rules if r["direction"] == "Inbound" and r["access"] == "Allow"]


def test_private_dns_zones_are_linked_to_the_vnet(azure_prod):
    zones = {r.inputs["privateZoneName"] for r in of_type(azure_prod, "azure-native:privatedns:PrivateZone")}
    assert zones == set(PRIVATE_DNS_ZONES.values())
    links = of_type(azure_prod, "azure-native:privatedns:VirtualNetworkLink")
    assert {link.inputs["privateZoneName"] for link in links} == zones
    assert all(
        link.inputs["virtualNetwork"]["id"].endswith("/virtualNetworks/vnet-mlops-prod-uaenorth") for link in links
    )


def test_log_analytics_keeps_a_year_and_refuses_shared_keys(azure_prod):
    workspace = one(azure_prod, "azure-native:operationalinsights:Workspace")
    assert workspace.inputs["retentionInDays"] == 365
    assert workspace.inputs["features"]["disableLocalAuth"] is True


def test_foundation_needs_a_nodes_and_a_services_subnet():
    with pytest.raises(ValueError, match="subnet_cidrs needs at least 2"):
        AzureFoundationArgs(
            resource_group_name="rg", location="uaenorth", vnet_cidr="10.0.0.0/16", subnet_cidrs=["10.0.0.0/20"]
        )

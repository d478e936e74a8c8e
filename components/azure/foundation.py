"""Azure landing zone for one stack: resource group, VNet, subnets with default-deny NSGs, private DNS, Log Analytics.

Subnets come from the stack's ``network.privateSubnets`` in order: the first holds the AKS nodes, the second
the platform's private endpoints and data services (``services``); any further ranges become extra private
subnets (``private-<n>``) with the same NSG rules, kept for workloads the platform does not place itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import network, operationalinsights, privatedns, resources

from components.azure.common import deny_internet_inbound
from components.errors import InputError

PRIVATE_DNS_ZONES = {
    "blob": "privatelink.blob.core.windows.net",
    "dfs": "privatelink.dfs.core.windows.net",
    "vault": "privatelink.vaultcore.azure.net",
}
"""Private Link DNS zones for the private endpoints the platform creates (storage blob/dfs, Key Vault)."""

SUBNET_ROLES = ("aks-nodes", "services")


@dataclass
class AzureFoundationArgs:
    resource_group_name: str
    """Name of the resource group that holds the whole stack."""
    location: str
    """Azure region (the stack's data-residency-checked ``region``)."""
    vnet_cidr: str
    """VNet address space."""
    subnet_cidrs: list[str]
    """At least two: AKS nodes, then services/private endpoints; more become ``private-<n>`` subnets."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable resource."""
    log_retention_days: int = 365
    """Log Analytics retention; a year by default for ISO 27001 audit evidence."""

    def __post_init__(self) -> None:
        if len(self.subnet_cidrs) < len(SUBNET_ROLES):
            raise InputError(
                f"AzureFoundationArgs.subnet_cidrs needs at least {len(SUBNET_ROLES)} ranges: {', '.join(SUBNET_ROLES)}"
            )


def subnet_names(count: int) -> list[str]:
    return [*SUBNET_ROLES, *(f"private-{i}" for i in range(len(SUBNET_ROLES), count))][:count]


class AzureFoundation(pulumi.ComponentResource):
    """Resource group, VNet, subnets (each with an NSG denying inbound from the internet), private DNS zones linked
    to the VNet, and the Log Analytics workspace every diagnostic setting writes to."""

    def __init__(self, name: str, args: AzureFoundationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:azure:Foundation", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.resource_group = resources.ResourceGroup(
            f"{name}-rg", resource_group_name=args.resource_group_name, location=args.location, tags=tags, opts=child
        )
        rg_name = self.resource_group.name
        self.vnet = network.VirtualNetwork(
            f"{name}-vnet",
            virtual_network_name=f"vnet-{args.resource_group_name.removeprefix('rg-')}",
            resource_group_name=rg_name,
            location=args.location,
            address_space={"address_prefixes": [args.vnet_cidr]},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["subnets"]),
        )
        self.subnets: dict[str, network.Subnet] = {}
        for subnet_name, cidr in zip(subnet_names(len(args.subnet_cidrs)), args.subnet_cidrs, strict=True):
            nsg = network.NetworkSecurityGroup(
                f"{name}-nsg-{subnet_name}",
                network_security_group_name=f"nsg-{subnet_name}",
                resource_group_name=rg_name,
                location=args.location,
                security_rules=[
                    deny_internet_inbound("No inbound traffic from the internet; the platform is private.")
                ],
                tags=tags,
                opts=child,
            )
            self.subnets[subnet_name] = network.Subnet(
                f"{name}-snet-{subnet_name}",
                subnet_name=f"snet-{subnet_name}",
                resource_group_name=rg_name,
                virtual_network_name=self.vnet.name,
                address_prefix=cidr,
                network_security_group={"id": nsg.id},
                default_outbound_access=False,
                private_endpoint_network_policies="Enabled",
                opts=child,
            )
        self.private_dns_zones: dict[str, privatedns.PrivateZone] = {}
        for key, zone in PRIVATE_DNS_ZONES.items():
            self.private_dns_zones[key] = privatedns.PrivateZone(
                f"{name}-dns-{key}",
                private_zone_name=zone,
                resource_group_name=rg_name,
                location="global",
                tags=tags,
                opts=child,
            )
            privatedns.VirtualNetworkLink(
                f"{name}-dns-{key}-link",
                virtual_network_link_name=f"link-{key}",
                private_zone_name=self.private_dns_zones[key].name,
                resource_group_name=rg_name,
                location="global",
                virtual_network={"id": self.vnet.id},
                registration_enabled=False,
                tags=tags,
                opts=child,
            )
        self.workspace = operationalinsights.Workspace(
            f"{name}-logs",
            workspace_name=f"log-{args.resource_group_name.removeprefix('rg-')}",
            resource_group_name=rg_name,
            location=args.location,
            sku={"name": "PerGB2018"},
            retention_in_days=args.log_retention_days,
            features={"disable_local_auth": True},
            tags=tags,
            opts=child,
        )
        self.resource_group_name: pulumi.Output[str] = rg_name
        self.nodes_subnet_id: pulumi.Output[str] = self.subnets["aks-nodes"].id
        self.services_subnet_id: pulumi.Output[str] = self.subnets["services"].id
        self.register_outputs(
            {
                "resourceGroupName": rg_name,
                "vnetId": self.vnet.id,
                "nodesSubnetId": self.nodes_subnet_id,
                "servicesSubnetId": self.services_subnet_id,
                "workspaceId": self.workspace.id,
            }
        )

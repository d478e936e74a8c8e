"""What every Azure component shares: built-in role ids, role assignments and diagnostic settings.

Built-in role definition ids are the same GUIDs in every Azure tenant
(https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
from pulumi_azure_native import authorization, monitor, network

KEY_VAULT_CRYPTO_OFFICER = "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"
KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
KEY_VAULT_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
KEY_VAULT_CONTRIBUTOR = "f25e0fa2-a7c8-4377-a976-54943a77a395"
NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
AKS_CLUSTER_USER = "4abbcc35-e782-43d8-92c5-2d3f1bd2253f"


def deny_internet_inbound(description: str) -> dict[str, str | int]:
    """The lowest-priority inbound NSG rule every platform subnet carries: nothing from the internet reaches it.
    ``description`` says why, for whoever reads the rule in the portal."""
    return {
        "name": "deny-internet-inbound",
        "priority": 4096,
        "direction": "Inbound",
        "access": "Deny",
        "protocol": "*",
        "source_address_prefix": "Internet",
        "source_port_range": "*",
        "destination_address_prefix": "*",
        "destination_port_range": "*",
        "description": description,
    }


def role_definition_id(subscription_id: pulumi.Input[str], role: str) -> pulumi.Output[str]:
    return pulumi.Output.concat(
        "/subscriptions/", subscription_id, "/providers/Microsoft.Authorization/roleDefinitions/", role
    )


def assign_role(
    name: str,
    *,
    scope: pulumi.Input[str],
    role: str,
    principal_id: pulumi.Input[str],
    principal_type: str,
    subscription_id: pulumi.Input[str],
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> authorization.RoleAssignment:
    """One Azure RBAC role assignment; ``principal_type`` (ServicePrincipal, Group, User) avoids replication races."""
    return authorization.RoleAssignment(
        name,
        scope=scope,
        role_definition_id=role_definition_id(subscription_id, role),
        principal_id=principal_id,
        principal_type=principal_type,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )


def send_diagnostics(
    name: str,
    *,
    resource_id: pulumi.Input[str],
    workspace_id: pulumi.Input[str],
    parent: pulumi.Resource,
    log_categories: Sequence[str] = (),
    log_category_group: str | None = "allLogs",
    metrics: bool = True,
    resource_specific_tables: bool = False,
) -> monitor.DiagnosticSetting:
    """Diagnostic setting sending a resource's logs (a category group, or named categories) and metrics to Log Analytics.

    ``resource_specific_tables`` writes to per-category tables (``AKSAudit``, ...) instead of ``AzureDiagnostics``,
    for resource types that support it.
    """
    logs = [{"category": c, "enabled": True} for c in log_categories]
    if not logs and log_category_group:
        logs = [{"category_group": log_category_group, "enabled": True}]
    return monitor.DiagnosticSetting(
        name,
        name="to-log-analytics",
        resource_uri=resource_id,
        workspace_id=workspace_id,
        log_analytics_destination_type="Dedicated" if resource_specific_tables else None,
        logs=logs or None,
        metrics=[{"category": "AllMetrics", "enabled": True}] if metrics else None,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def private_endpoint(
    name: str,
    *,
    resource_id: pulumi.Input[str],
    group_id: str,
    subnet_id: pulumi.Input[str],
    dns_zone_id: pulumi.Input[str],
    resource_group_name: pulumi.Input[str],
    location: str,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> network.PrivateEndpoint:
    """A private endpoint for one sub-resource (``blob``, ``dfs``, ``vault``) with its A record in the private DNS zone."""
    endpoint = network.PrivateEndpoint(
        f"{name}-pe",
        private_endpoint_name=f"pe-{name}",
        resource_group_name=resource_group_name,
        location=location,
        subnet={"id": subnet_id},
        private_link_service_connections=[
            {"name": f"{name}-{group_id}", "private_link_service_id": resource_id, "group_ids": [group_id]}
        ],
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    network.PrivateDnsZoneGroup(
        f"{name}-pe-dns",
        private_dns_zone_group_name="default",
        private_endpoint_name=endpoint.name,
        resource_group_name=resource_group_name,
        private_dns_zone_configs=[{"name": group_id, "private_dns_zone_id": dns_zone_id}],
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return endpoint

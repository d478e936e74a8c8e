"""``azure-native:*`` resources -> one ARM template per stack (Checkov's ``arm`` framework).

azure-native flattens ARM's ``properties`` envelope to the top level, takes each resource's name (and its parents'
names) from path inputs such as ``accountName`` and ``resourceName``, and uses the specs' client names where
they differ from the wire names (``enableHttpsTrafficOnly`` is ARM's ``supportsHttpsTrafficOnly``). This module
puts it back: ARM type, ``apiVersion`` (the SDK's default, from ``azure_schema.json``), ``name`` (``parent/child``
for child resources), top-level envelope fields, everything else under ``properties`` with wire names.

:data:`ARM_TYPES` is reviewed for the types the platform deploys (ARM type, path inputs, renames); other tokens take
the ARM type from the resource id path the SDK states (``arm_paths`` in ``azure_schema.json``, see
``generate_azure_schema``). A token with neither is untranslatable: the gate fails rather than guess a type by a
naming rule (which typed Synapse firewall rules and web apps wrongly, so their checks never ran).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from policies.preview.model import UNKNOWN, PreviewResource

SCHEMA_URL = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
# ARM resource fields that sit beside ``properties``, not inside it.
ENVELOPE = ("location", "tags", "sku", "kind", "identity", "zones", "extendedLocation", "plan", "managedBy")


@dataclass(frozen=True)
class ArmType:
    type: str
    name_inputs: tuple[str, ...]
    """Inputs that hold the names of the parent(s) and of the resource itself, outermost first."""
    renames: dict[str, str] = field(default_factory=dict)
    """azure-native input path (dotted, camelCase) -> ARM wire name of the last segment."""
    inline_children: tuple[str, ...] = ()
    """List inputs whose items are child resources written inline (``{name, properties: {...}}`` in ARM)."""
    fixed_names: tuple[str | None, ...] = ()
    """Name segments with a fixed value (``default`` for blobServices), aligned with the name parts."""
    scope_input: str | None = None
    """Extension resources (diagnostic settings): the input holding the id of the resource they extend. They are
    written in ARM's nested form, ``<parent type>/providers/<type>`` named ``<parent name>/<namespace>/<name>``,
    so that two settings with the same name on different resources keep distinct Checkov ids."""


_KEY_VAULT_KEY_RENAMES = {
    "encryption.keyVaultProperties": "keyvaultproperties",
    "encryption.keyVaultProperties.keyName": "keyname",
    "encryption.keyVaultProperties.keyVersion": "keyversion",
    "encryption.keyVaultProperties.keyVaultUri": "keyvaulturi",
}

ARM_TYPES: dict[str, ArmType] = {
    "azure-native:resources:ResourceGroup": ArmType("Microsoft.Resources/resourceGroups", ("resourceGroupName",)),
    "azure-native:storage:StorageAccount": ArmType(
        "Microsoft.Storage/storageAccounts",
        ("accountName",),
        renames={
            "enableHttpsTrafficOnly": "supportsHttpsTrafficOnly",
            "networkRuleSet": "networkAcls",
            **_KEY_VAULT_KEY_RENAMES,
        },
    ),
    "azure-native:storage:BlobServiceProperties": ArmType(
        "Microsoft.Storage/storageAccounts/blobServices",
        ("accountName", "blobServicesName"),
        fixed_names=(None, "default"),
    ),
    "azure-native:storage:BlobContainer": ArmType(
        "Microsoft.Storage/storageAccounts/blobServices/containers",
        ("accountName", "", "containerName"),
        fixed_names=(None, "default", None),
    ),
    "azure-native:storage:BlobContainerImmutabilityPolicy": ArmType(
        "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies",
        ("accountName", "", "containerName", "immutabilityPolicyName"),
        fixed_names=(None, "default", None, "default"),
    ),
    "azure-native:storage:EncryptionScope": ArmType(
        "Microsoft.Storage/storageAccounts/encryptionScopes", ("accountName", "encryptionScopeName")
    ),
    "azure-native:storage:ManagementPolicy": ArmType(
        "Microsoft.Storage/storageAccounts/managementPolicies",
        ("accountName", "managementPolicyName"),
        fixed_names=(None, "default"),
    ),
    "azure-native:containerservice:ManagedCluster": ArmType(
        "Microsoft.ContainerService/managedClusters", ("resourceName",)
    ),
    "azure-native:containerservice:AgentPool": ArmType(
        "Microsoft.ContainerService/managedClusters/agentPools", ("resourceName", "agentPoolName")
    ),
    "azure-native:keyvault:Vault": ArmType("Microsoft.KeyVault/vaults", ("vaultName",)),
    "azure-native:keyvault:Key": ArmType("Microsoft.KeyVault/vaults/keys", ("vaultName", "keyName")),
    "azure-native:keyvault:Secret": ArmType("Microsoft.KeyVault/vaults/secrets", ("vaultName", "secretName")),
    "azure-native:network:VirtualNetwork": ArmType(
        "Microsoft.Network/virtualNetworks", ("virtualNetworkName",), inline_children=("subnets",)
    ),
    "azure-native:network:Subnet": ArmType(
        "Microsoft.Network/virtualNetworks/subnets", ("virtualNetworkName", "subnetName")
    ),
    "azure-native:network:NetworkSecurityGroup": ArmType(
        "Microsoft.Network/networkSecurityGroups", ("networkSecurityGroupName",), inline_children=("securityRules",)
    ),
    "azure-native:network:SecurityRule": ArmType(
        "Microsoft.Network/networkSecurityGroups/securityRules", ("networkSecurityGroupName", "securityRuleName")
    ),
    "azure-native:network:PrivateEndpoint": ArmType("Microsoft.Network/privateEndpoints", ("privateEndpointName",)),
    "azure-native:network:PrivateDnsZoneGroup": ArmType(
        "Microsoft.Network/privateEndpoints/privateDnsZoneGroups", ("privateEndpointName", "privateDnsZoneGroupName")
    ),
    "azure-native:privatedns:PrivateZone": ArmType("Microsoft.Network/privateDnsZones", ("privateZoneName",)),
    "azure-native:privatedns:VirtualNetworkLink": ArmType(
        "Microsoft.Network/privateDnsZones/virtualNetworkLinks", ("privateZoneName", "virtualNetworkLinkName")
    ),
    "azure-native:monitor:DiagnosticSetting": ArmType(
        "Microsoft.Insights/diagnosticSettings", ("name",), scope_input="resourceUri"
    ),
    # Subscription-scope settings (docs/security-detection-and-audit.md): the Defender plan names itself; the
    # Activity Log setting is a diagnostic setting on the subscription.
    "azure-native:security:Pricing": ArmType("Microsoft.Security/pricings", ("pricingName",), scope_input="scopeId"),
    "azure-native:monitor:SubscriptionDiagnosticSetting": ArmType("Microsoft.Insights/diagnosticSettings", ("name",)),
    "azure-native:operationalinsights:Workspace": ArmType(
        "Microsoft.OperationalInsights/workspaces", ("workspaceName",)
    ),
    "azure-native:managedidentity:UserAssignedIdentity": ArmType(
        "Microsoft.ManagedIdentity/userAssignedIdentities", ("resourceName",)
    ),
    "azure-native:managedidentity:FederatedIdentityCredential": ArmType(
        "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
        ("resourceName", "federatedIdentityCredentialResourceName"),
    ),
    "azure-native:authorization:RoleAssignment": ArmType(
        "Microsoft.Authorization/roleAssignments", ("roleAssignmentName",)
    ),
    "azure-native:dbforpostgresql:Server": ArmType("Microsoft.DBforPostgreSQL/flexibleServers", ("serverName",)),
    "azure-native:dbforpostgresql:Database": ArmType(
        "Microsoft.DBforPostgreSQL/flexibleServers/databases", ("serverName", "databaseName")
    ),
    "azure-native:dbforpostgresql:Configuration": ArmType(
        "Microsoft.DBforPostgreSQL/flexibleServers/configurations", ("serverName", "configurationName")
    ),
    "azure-native:dbforpostgresql:FirewallRule": ArmType(
        "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules", ("serverName", "firewallRuleName")
    ),
    "azure-native:dbformysql:Server": ArmType("Microsoft.DBforMySQL/flexibleServers", ("serverName",)),
    "azure-native:dbformysql:Configuration": ArmType(
        "Microsoft.DBforMySQL/flexibleServers/configurations", ("serverName", "configurationName")
    ),
    "azure-native:redis:Redis": ArmType("Microsoft.Cache/redis", ("name",)),
    "azure-native:containerregistry:Registry": ArmType("Microsoft.ContainerRegistry/registries", ("registryName",)),
    # Types the naming rule gets wrong (ARM paths checked against the Azure REST specs / Checkov's ARM checks).
    "azure-native:synapse:Workspace": ArmType("Microsoft.Synapse/workspaces", ("workspaceName",)),
    "azure-native:synapse:IpFirewallRule": ArmType(
        "Microsoft.Synapse/workspaces/firewallRules", ("workspaceName", "ruleName")
    ),
    "azure-native:synapse:SqlPool": ArmType("Microsoft.Synapse/workspaces/sqlPools", ("workspaceName", "sqlPoolName")),
    "azure-native:web:WebApp": ArmType("Microsoft.Web/sites", ("name",)),
    "azure-native:web:WebAppSlot": ArmType("Microsoft.Web/sites/slots", ("name", "slot")),
    "azure-native:web:AppServicePlan": ArmType("Microsoft.Web/serverfarms", ("name",)),
    "azure-native:compute:DiskEncryptionSet": ArmType(
        "Microsoft.Compute/diskEncryptionSets", ("diskEncryptionSetName",)
    ),
}
ATTACHED_CHILDREN: dict[str, tuple[str, ...]] = {
    "Microsoft.Synapse/workspaces": ("Microsoft.Synapse/workspaces/firewallRules",),
}
"""Parent ARM type -> child types Checkov's ARM checks look for in the *parent's* ``dependsOn`` (CKV2_AZURE_19:
a workspace "has IP firewall rules attached" when its ``dependsOn`` names one)."""
_PATH_INPUTS = {"resourceGroupName"}


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return json.loads(Path(__file__).with_name("azure_schema.json").read_text())


def api_versions() -> dict[str, str]:
    return _schema()["api_versions"]


def arm_paths() -> dict[str, str]:
    """Token -> ARM resource id path, where the installed SDK states one (its import example)."""
    return _schema().get("arm_paths", {})


def arm_type(token: str) -> tuple[ArmType, bool] | None:
    """(ARM type, reviewed?) of an azure-native token: the reviewed table, else the SDK's resource id path; None
    when neither knows the token (the gate reports it untranslatable)."""
    from policies.translate.generate_azure_schema import arm_from_path

    if token in ARM_TYPES:
        return ARM_TYPES[token], True
    parsed = arm_from_path(arm_paths().get(token, ""))
    if parsed is None:
        return None
    type_, inputs, fixed = parsed
    return ArmType(
        type_,
        inputs,
        fixed_names=fixed,
        scope_input="resourceUri" if "{resourceUri}" in arm_paths()[token].split("/providers/")[0] else None,
    ), False


def _drop_unknown(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_unknown(v) for k, v in value.items() if v is not None and v != UNKNOWN}
    if isinstance(value, list):
        return [_drop_unknown(v) for v in value if v != UNKNOWN]
    return value


def _rename(value: Any, renames: dict[str, str], path: str = "") -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            sub = f"{path}.{key}" if path else key
            out[renames.get(sub, key)] = _rename(item, renames, sub)
        return out
    if isinstance(value, list):
        return [_rename(v, renames, path) for v in value]
    return value


def _inline_child(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    outer = {k: item[k] for k in ("name", "id") if k in item}
    inner = {k: v for k, v in item.items() if k not in ("name", "id", "properties")}
    inner.update(item.get("properties") or {})
    if inner:
        outer["properties"] = inner
    return outer


def resource_name(resource: PreviewResource, spec: ArmType) -> str:
    """``parent/child`` names from the path inputs; the mock's output name or the Pulumi name as a last resort."""
    parts = []
    for i, key in enumerate(spec.name_inputs):
        fixed = spec.fixed_names[i] if i < len(spec.fixed_names) else None
        value = fixed or resource.inputs.get(key)
        if not isinstance(value, str) or value == UNKNOWN:
            value = resource.outputs.get("name") if i == len(spec.name_inputs) - 1 else None
        if not isinstance(value, str) or value == UNKNOWN:
            value = resource.name
        parts.append(value)
    return "/".join(parts)


def _scoped(scope: Any, type_: str, name: str) -> tuple[str, str] | None:
    """``/subscriptions/../providers/Microsoft.Storage/storageAccounts/st/blobServices/default`` + a
    ``Microsoft.Insights/diagnosticSettings`` named ``n`` -> (``Microsoft.Storage/storageAccounts/blobServices/
    providers/diagnosticsettings``, ``st/default/Microsoft.Insights/n``)."""
    if not isinstance(scope, str) or "/providers/" not in scope:
        return None
    namespace, *rest = scope.rsplit("/providers/", 1)[1].strip("/").split("/")
    if not rest or len(rest) % 2:
        return None
    ext_namespace, ext_type = type_.split("/", 1)
    parent_type = "/".join([namespace, *rest[0::2]])
    parent_name = "/".join(rest[1::2])
    # Lower case as Checkov's own checks spell it (ARM types are case-insensitive; Checkov compares exactly).
    return f"{parent_type}/providers/{ext_type.lower()}", f"{parent_name}/{ext_namespace}/{name}"


def resource(res: PreviewResource, spec: ArmType, location: str | None = None) -> dict[str, Any]:
    """The ARM resource; ``location`` is the effective location (the resource's own, else its provider's), written
    when the resource has none of its own and its type takes one (not child or extension resources)."""
    inputs = _drop_unknown(_rename(res.inputs, spec.renames))
    if location and "location" not in inputs and _takes_location(res, spec):
        inputs["location"] = location
    skip = _PATH_INPUTS | set(spec.name_inputs)
    type_, name = spec.type, resource_name(res, spec)
    if spec.scope_input:
        skip.add(spec.scope_input)
        type_, name = _scoped(inputs.get(spec.scope_input), type_, name) or (type_, name)
    doc: dict[str, Any] = {"type": type_, "apiVersion": api_versions().get(res.type, ""), "name": name}
    properties: dict[str, Any] = {}
    for key, value in inputs.items():
        if key in skip:
            continue
        if key in ENVELOPE:
            doc[key] = value
        elif key in spec.inline_children and isinstance(value, list):
            properties[key] = [_inline_child(v) for v in value]
        elif key == "properties" and isinstance(value, dict):
            properties.update(value)  # the few types azure-native does not flatten (e.g. keyvault:Vault)
        else:
            properties[key] = value
    doc["properties"] = properties
    return doc


@lru_cache(maxsize=1)
def _located() -> frozenset[str]:
    return frozenset(_schema().get("located", ()))


def _takes_location(res: PreviewResource, spec: ArmType) -> bool:
    """Whether the SDK's constructor of the type takes a ``location`` (``located`` in ``azure_schema.json``)."""
    return res.type in _located() and not spec.scope_input


def resource_id(doc: dict[str, Any]) -> str:
    """``[resourceId('<type>', '<full name>')]``: the whole ``parent/child`` name as one argument, which is how
    Checkov's ARM graph resolves a ``dependsOn`` entry to a resource (it reads the second argument)."""
    return f"[resourceId('{doc['type']}', '{doc['name']}')]"


def link(docs: list[tuple[PreviewResource, dict[str, Any]]]) -> None:
    """Write ``dependsOn`` from the preview's dependencies (``property_dependencies``, then ``dependencies``), so
    Checkov's graph links resources that refer to each other; and list the children Checkov's checks expect on the
    parent (:data:`ATTACHED_CHILDREN`)."""
    by_urn = {res.urn: doc for res, doc in docs}
    by_type_name = {(doc["type"], doc["name"]): doc for _, doc in docs}
    for res, doc in docs:
        urns = [u for deps in res.property_dependencies.values() for u in deps] + list(res.dependencies)
        # Resource groups are the deployment's scope, not resources of the template to wait for.
        refs = [
            resource_id(by_urn[u])
            for u in dict.fromkeys(urns)
            if u in by_urn and by_urn[u] is not doc and by_urn[u]["type"] != "Microsoft.Resources/resourceGroups"
        ]
        if refs:
            doc["dependsOn"] = list(dict.fromkeys([*doc.get("dependsOn", []), *refs]))
    for _, doc in docs:
        if doc["type"].count("/") < 2 or "/providers/" in doc["type"]:
            continue
        parent_type, parent_name = doc["type"].rsplit("/", 1)[0], doc["name"].rsplit("/", 1)[0]
        parent = by_type_name.get((parent_type, parent_name))
        if parent is not None and doc["type"] in ATTACHED_CHILDREN.get(parent_type, ()):
            parent["dependsOn"] = list(dict.fromkeys([*parent.get("dependsOn", []), resource_id(doc)]))


def template(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"$schema": SCHEMA_URL, "contentVersion": "1.0.0.0", "parameters": {}, "resources": resources}


def checkov_id(doc: dict[str, Any]) -> str:
    return f"{doc['type']}.{doc['name']}"

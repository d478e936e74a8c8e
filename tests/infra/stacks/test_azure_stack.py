"""The azure-uae-prod stack's Azure part previews offline: the expected resources, no unknown inputs, tagged,
in UAE North, every resource inside a component, and handing cluster, buckets, key and network on."""

from __future__ import annotations

import importlib
import inspect

import pytest
import yaml

from infra.config import REQUIRED_TAGS, ConfigError
from infra.targets import TargetCluster
from policies.preview.model import PreviewResult
from tests.components.azure.stack import azure_prod_target, preview_azure_target

EXPECTED_COUNTS = {
    "azure-native:authorization:RoleAssignment": 9,
    "azure-native:compute:DiskEncryptionSet": 1,
    "azure-native:containerservice:AgentPool": 3,
    "azure-native:containerservice:ManagedCluster": 1,
    "azure-native:keyvault:Key": 1,
    "azure-native:keyvault:Vault": 1,
    "azure-native:managedidentity:UserAssignedIdentity": 2,
    "azure-native:monitor:DiagnosticSetting": 8,
    "azure-native:monitor:SubscriptionDiagnosticSetting": 1,
    "azure-native:network:NetworkSecurityGroup": 3,
    "azure-native:network:PrivateDnsZoneGroup": 7,
    "azure-native:network:PrivateEndpoint": 7,
    "azure-native:network:Subnet": 3,
    "azure-native:network:VirtualNetwork": 1,
    "azure-native:operationalinsights:Workspace": 1,
    "azure-native:privatedns:PrivateZone": 3,
    "azure-native:privatedns:VirtualNetworkLink": 3,
    "azure-native:resources:ResourceGroup": 1,
    "azure-native:security:Pricing": 1,
    "azure-native:storage:BlobContainer": 4,
    "azure-native:storage:BlobContainerImmutabilityPolicy": 1,
    "azure-native:storage:BlobServiceProperties": 3,
    "azure-native:storage:ManagementPolicy": 2,
    "azure-native:storage:StorageAccount": 3,
    "mlops:azure:AksCluster": 1,
    "mlops:azure:Foundation": 1,
    "mlops:azure:KeyVault": 1,
    "mlops:azure:Storage": 1,
    "mlops:azure:ThreatDetection": 1,
    "pulumi:providers:kubernetes": 1,
    "pulumi:pulumi:Stack": 1,
}


@pytest.fixture(scope="module")
def stack() -> tuple[PreviewResult, TargetCluster]:
    return azure_prod_target()


def _taggable(type_token: str) -> bool:
    """Whether the azure-native resource class takes ``tags`` (read from the SDK, not from a hand-kept list)."""
    _, module, kind = type_token.split(":")
    cls = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), kind)
    return "tags" in inspect.signature(cls._internal_init).parameters


def test_previews_the_expected_resource_set_with_no_unknown_inputs(stack):
    result, _ = stack
    assert result.counts() == EXPECTED_COUNTS
    assert result.unknown_inputs == []


def test_every_taggable_resource_carries_the_stack_tags(stack):
    result, _ = stack
    tagged = 0
    for resource in result.resources:
        if resource.package != "azure-native":
            continue
        if not _taggable(resource.type):
            assert "tags" not in resource.inputs
            continue
        tags = resource.inputs.get("tags", {})
        for tag in (*REQUIRED_TAGS, "project"):
            assert tags.get(tag), f"{resource.type} {resource.name} lacks tag {tag}"
        tagged += 1
    assert tagged == 31  # group, network, DNS, workspace, vault, key, identities, endpoints, cluster, pools, accounts
    (cluster,) = [r for r in result.resources if r.type == "azure-native:containerservice:ManagedCluster"]
    assert cluster.inputs["agentPoolProfiles"][0]["tags"] == cluster.inputs["tags"]  # the inline system pool too


def test_everything_stays_in_uae_north_and_inside_a_component(stack):
    result, _ = stack
    index = result.by_urn()
    for resource in result.resources:
        if resource.package != "azure-native":
            continue
        if "location" in resource.inputs:
            expected = "global" if resource.type.startswith("azure-native:privatedns:") else "uaenorth"
            assert resource.inputs["location"] == expected, resource.name
        parent = index[resource.parent]
        assert parent.type.startswith("mlops:azure:"), f"{resource.name} is not a child of an Azure component"
    for component in (r for r in result.resources if r.type.startswith("mlops:azure:")):
        assert index[component.parent].type == "pulumi:pulumi:Stack"


def test_kubeconfig_is_a_secret_entra_id_exec_kubeconfig(stack):
    from pulumi.runtime.sync_await import _sync_await

    result, target = stack
    (provider,) = [r for r in result.resources if r.type == "pulumi:providers:kubernetes"]
    assert provider.inputs["kubeconfig"] == "[secret]"
    kubeconfig = yaml.safe_load(_sync_await(target.provider.kubeconfig.future()))
    assert kubeconfig["users"][0]["user"]["exec"]["command"] == "kubelogin"
    assert "privatelink.uaenorth.azmk8s.io" in kubeconfig["clusters"][0]["cluster"]["server"]


def test_target_cluster_hands_over_cluster_storage_key_network_and_identity(stack):
    from pulumi.runtime.sync_await import _sync_await

    _result, target = stack

    def value(output):
        return _sync_await(output.future()) if hasattr(output, "future") else output

    assert value(target.cluster_name) == "aks-mlops-prod"
    assert value(target.endpoint).endswith(".privatelink.uaenorth.azmk8s.io")
    uris = {k: value(v) for k, v in target.buckets.items()}
    assert set(uris) == {"datasets", "features", "models", "pipeline-artifacts"}
    for bucket, uri in uris.items():
        assert uri.startswith(f"abfss://{bucket}@st") and uri.endswith(".dfs.core.windows.net")
    assert value(target.encryption_key).endswith(".vault.azure.net/keys/platform-cmk")
    network = {k: value(v) for k, v in target.network.items()}
    assert network["resource_group_name"] == "rg-mlops-prod-uaenorth" and network["location"] == "uaenorth"
    assert network["vnet_name"] == "vnet-mlops-prod-uaenorth"
    assert network["vnet_id"].endswith("/virtualNetworks/vnet-mlops-prod-uaenorth")
    assert network["services_subnet_id"].endswith("/subnets/snet-services")
    assert value(target.workload_identity["oidc_issuer_url"]).startswith("https://uaenorth.oic.prod-aks.azure.com/")
    assert value(target.workload_identity["resource_group_name"]) == "rg-mlops-prod-uaenorth"
    assert sorted(value(p.name) for p in target.dependencies) == ["cpubatch", "gpua100", "gput4"]
    assert {"resourceGroupName", "keyVaultUri", "oidcIssuerUrl", "storageAccounts"} <= set(target.outputs)


def test_a_region_outside_the_residency_rule_is_refused_before_any_resource():
    with pytest.raises(Exception) as failure:
        preview_azure_target("azure-uae-prod", overrides={"region": "westeurope"})
    root = failure.value
    while not isinstance(root, ConfigError) and (root.__cause__ or root.__context__):
        root = root.__cause__ or root.__context__
    assert isinstance(root, ConfigError) and "data-residency" in str(root) and "westeurope" in str(root)


def test_the_whole_stack_previews_with_the_baseline_on_the_aks_provider():
    pytest.importorskip(
        "components.kubernetes.baseline", reason="the in-cluster baseline is built by issue 2's k8s part"
    )
    from policies.preview.runner import preview_stack

    result = preview_stack("azure-uae-prod")
    assert result.unknown_inputs == []
    (provider,) = [r for r in result.resources if r.type == "pulumi:providers:kubernetes"]
    kubernetes = [r for r in result.resources if r.package == "kubernetes" and r.custom]
    assert kubernetes and all(r.provider and r.provider.startswith(provider.urn + "::") for r in kubernetes)
    # The target's own Azure resources; the platform services (issue 4) add theirs under their component.
    services = {r.urn for r in result.resources if r.type == "mlops:services:PlatformServices"}
    index = result.by_urn()

    def in_services(resource) -> bool:
        parent = resource.parent
        while parent:
            if parent in services:
                return True
            parent = index[parent].parent if parent in index else None
        return False

    target_counts: dict[str, int] = {}
    for r in result.resources:
        if r.type.startswith("azure-native:") and not in_services(r):
            target_counts[r.type] = target_counts.get(r.type, 0) + 1
    assert target_counts == {k: v for k, v in EXPECTED_COUNTS.items() if k.startswith("azure-native:")}
    assert result.outputs["clusterName"] == "aks-mlops-prod"
    assert result.outputs["training_gpus_per_node"] == 4, "submit sizes TrainJob ranks from the GPU pool's gpuCount"
    assert result.outputs["release_requires_approval"] is True, "submit runs the pipeline with require_approval"
    approvals = next(
        r
        for r in result.resources
        if r.type == "kubernetes:core/v1:ConfigMap" and r.inputs.get("metadata", {}).get("name") == "release-approvals"
    )
    assert approvals.inputs["data"] == {"require-human-approval": "true"}, "the API server demands the sign-off"


def test_mock_ids_are_arm_ids_so_references_between_resources_are_realistic(stack):
    result, _ = stack
    azure = [r for r in result.resources if r.package == "azure-native"]
    ids = {r.name: r.outputs["id"] for r in azure}
    assert len(ids) == len(azure), "logical names are unique across types, so the tree reads unambiguously"
    rg = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-mlops-prod-uaenorth"
    assert (
        ids["aks-pool-gput4"]
        == f"{rg}/providers/Microsoft.ContainerService/managedClusters/aks-mlops-prod/agentPools/gput4"
    )
    account = ids["storage-models-account"]
    assert account.startswith(f"{rg}/providers/Microsoft.Storage/storageAccounts/st") and account.endswith("models")
    assert (
        ids["storage-models-worm"] == f"{account}/blobServices/default/containers/models/immutabilityPolicies/default"
    )
    assert ids["keyvault-cmk"].endswith("/vaults/" + ids["keyvault-vault"].rsplit("/", 1)[1] + "/keys/platform-cmk")
    for resource in result.resources:
        if resource.type == "azure-native:authorization:RoleAssignment":
            assert resource.outputs["id"].startswith(
                resource.inputs["scope"] + "/providers/Microsoft.Authorization/roleAssignments/"
            )
        if resource.type == "azure-native:monitor:DiagnosticSetting":
            assert (
                resource.outputs["id"]
                == resource.inputs["resourceUri"] + "/providers/Microsoft.Insights/diagnosticSettings/to-log-analytics"
            )

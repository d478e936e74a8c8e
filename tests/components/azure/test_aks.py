"""AKS: private, Entra ID RBAC bound to the IdP groups, no local accounts, policy add-on, encrypted pools, GPU pools."""

from __future__ import annotations

import pytest

from components.azure.aks import AKS_LOG_CATEGORIES, AksCluster, AksClusterArgs, AksPoolArgs
from components.azure.common import AKS_CLUSTER_USER, AKS_RBAC_CLUSTER_ADMIN
from components.gpu import GPU_TAINT, LABEL_ACCELERATOR, LABEL_GPU_COUNT, LABEL_GPU_MODEL
from tests.conftest import of_type, one, run_mocked

CLUSTER = "azure-native:containerservice:ManagedCluster"
POOL = "azure-native:containerservice:AgentPool"
GPU_TAINT_TEXT = f"{GPU_TAINT['key']}={GPU_TAINT['value']}:{GPU_TAINT['effect']}"
ADMINS = ["3f1c2a9e-6d1b-4a52-9c1e-0a7d5b2e8f10"]
ML_ENGINEERS = ["8b2d4e6f-1a3c-4e5f-9b7d-2c4e6a8b0d12"]
DATA_SCIENTISTS = ["c5e7a9b1-3d5f-4b7a-8c9e-1f3a5c7e9b24"]


def _pools(result):
    """Every pool's settings: the inline system pool and the AgentPool resources."""
    cluster = one(result, CLUSTER).inputs
    pools = {p["name"]: p for p in cluster["agentPoolProfiles"]}
    pools.update({p.inputs["agentPoolName"]: p.inputs for p in of_type(result, POOL)})
    return pools


def test_cluster_is_private_without_public_network_access(azure_prod):
    cluster = one(azure_prod, CLUSTER).inputs
    assert cluster["apiServerAccessProfile"]["enablePrivateCluster"] is True
    assert cluster["apiServerAccessProfile"]["enablePrivateClusterPublicFQDN"] is False
    assert cluster["publicNetworkAccess"] == "Disabled"
    assert all(p["enableNodePublicIP"] is False for p in _pools(azure_prod).values())


def test_entra_id_rbac_with_admin_groups_and_no_local_accounts(azure_prod):
    cluster = one(azure_prod, CLUSTER).inputs
    assert cluster["disableLocalAccounts"] is True
    assert cluster["aadProfile"] == {
        "managed": True,
        "enableAzureRBAC": True,
        "adminGroupObjectIDs": ADMINS,
        "tenantID": "00000000-0000-4000-8000-000000000002",
    }


def test_idp_groups_are_bound_by_role_assignments_on_the_cluster(azure_prod):
    cluster_id = one(azure_prod, CLUSTER).outputs["id"]
    on_cluster = [
        r.inputs
        for r in of_type(azure_prod, "azure-native:authorization:RoleAssignment")
        if r.inputs["scope"] == cluster_id
    ]
    by_role: dict[str, set[str]] = {}
    for grant in on_cluster:
        assert grant["principalType"] == "Group"
        by_role.setdefault(grant["roleDefinitionId"].rsplit("/", 1)[1], set()).add(grant["principalId"])
    assert by_role == {AKS_RBAC_CLUSTER_ADMIN: set(ADMINS), AKS_CLUSTER_USER: set(ML_ENGINEERS + DATA_SCIENTISTS)}


def test_policy_addon_workload_identity_kms_and_monitoring(azure_prod):
    cluster = one(azure_prod, CLUSTER).inputs
    assert cluster["addonProfiles"]["azurepolicy"]["enabled"] is True
    assert cluster["addonProfiles"]["omsagent"]["config"]["logAnalyticsWorkspaceResourceID"].endswith(
        "/workspaces/log-mlops-prod-uaenorth"
    )
    assert cluster["oidcIssuerProfile"] == {"enabled": True}
    assert cluster["securityProfile"]["workloadIdentity"] == {"enabled": True}
    kms = cluster["securityProfile"]["azureKeyVaultKms"]
    assert kms["enabled"] is True and kms["keyVaultNetworkAccess"] == "Private"
    assert kms["keyId"] == one(azure_prod, "azure-native:keyvault:Key").outputs["keyUriWithVersion"]


def test_network_plugin_azure_with_network_policy(azure_prod):
    network = one(azure_prod, CLUSTER).inputs["networkProfile"]
    assert network["networkPlugin"] == "azure" and network["networkPolicy"] == "calico"
    assert network["serviceCidr"] == "172.21.0.0/16" and network["dnsServiceIP"] == "172.21.0.10"


def test_every_pool_encrypts_at_host_and_disks_use_the_cmk(azure_prod):
    cluster = one(azure_prod, CLUSTER)
    assert (
        cluster.inputs["diskEncryptionSetID"] == one(azure_prod, "azure-native:compute:DiskEncryptionSet").outputs["id"]
    )
    pools = _pools(azure_prod)
    assert set(pools) == {"system", "cpubatch", "gput4", "gpua100"}
    for pool in pools.values():
        assert pool["enableEncryptionAtHost"] is True
        assert pool["vnetSubnetID"].endswith("/subnets/snet-aks-nodes")


def test_gpu_pools_carry_the_gpu_taint_and_labels_cpu_pools_do_not(azure_prod):
    pools = _pools(azure_prod)
    for name, model, count, size in (
        ("gput4", "nvidia-t4", "1", "Standard_NC4as_T4_v3"),
        ("gpua100", "nvidia-a100", "4", "Standard_NC96ads_A100_v4"),
    ):
        pool = pools[name]
        assert pool["mode"] == "User" and pool["vmSize"] == size
        assert GPU_TAINT_TEXT in pool["nodeTaints"]
        assert pool["nodeLabels"][LABEL_ACCELERATOR] == "nvidia"
        assert pool["nodeLabels"][LABEL_GPU_MODEL] == model and pool["nodeLabels"][LABEL_GPU_COUNT] == count
        assert pool["gpuProfile"] == {"driver": "Install"}
    for name in ("system", "cpubatch"):
        assert GPU_TAINT_TEXT not in pools[name]["nodeTaints"]
        assert pools[name]["nodeLabels"][LABEL_ACCELERATOR] == "none"
    assert pools["system"]["mode"] == "System"


def test_pools_autoscale_within_config_bounds(azure_prod):
    pools = _pools(azure_prod)
    bounds = {n: (p["enableAutoScaling"], p["minCount"], p["maxCount"], p["count"]) for n, p in pools.items()}
    assert bounds == {
        "system": (True, 3, 6, 3),
        "cpubatch": (True, 0, 20, 1),
        "gput4": (True, 0, 6, 1),
        "gpua100": (True, 0, 2, 0),
    }


def test_spot_pools_use_spot_priority_with_delete_eviction(azure_prod):
    pools = _pools(azure_prod)
    for name in ("cpubatch", "gpua100"):
        assert pools[name]["scaleSetPriority"] == "Spot"
        assert pools[name]["scaleSetEvictionPolicy"] == "Delete"
        assert pools[name]["spotMaxPrice"] == -1
        assert "kubernetes.azure.com/scalesetpriority=spot:NoSchedule" in pools[name]["nodeTaints"]
    for name in ("system", "gput4"):
        assert "scaleSetPriority" not in pools[name]


def test_control_plane_logs_go_to_log_analytics(azure_prod):
    cluster_id = one(azure_prod, CLUSTER).outputs["id"]
    setting = [
        r.inputs
        for r in of_type(azure_prod, "azure-native:monitor:DiagnosticSetting")
        if r.inputs["resourceUri"] == cluster_id
    ]
    assert len(setting) == 1
    assert {log["category"] for log in setting[0]["logs"]} == set(AKS_LOG_CATEGORIES)
    assert setting[0]["logAnalyticsDestinationType"] == "Dedicated"
    assert "kube-audit-admin" in AKS_LOG_CATEGORIES


def _cluster_args(**overrides) -> AksClusterArgs:
    values = {
        "resource_group_name": "rg-test",
        "location": "uaenorth",
        "cluster_name": "aks-test",
        "kubernetes_version": "1.33",
        "subscription_id": "sub",
        "tenant_id": "tenant",
        "node_subnet_id": "/subnets/nodes",
        "system_pool": AksPoolArgs(name="system", vm_size="Standard_D4ds_v5", min_count=1, max_count=3, count=1),
        "user_pools": [],
        "admin_group_ids": ADMINS,
        "user_group_ids": ML_ENGINEERS,
        "disk_encryption_set_id": "/des",
        "kms_key_id": "https://kv/keys/k/1",
        "key_vault_id": "/kv",
        "workspace_id": "/ws",
    }
    return AksClusterArgs(**{**values, **overrides})


def test_public_api_server_only_through_the_explicit_safeguard_switch():
    result = run_mocked(lambda: AksCluster("aks", _cluster_args(public_api_server=True)), region="uaenorth")
    cluster = one(result, CLUSTER).inputs
    assert cluster["apiServerAccessProfile"]["enablePrivateCluster"] is False
    assert cluster["publicNetworkAccess"] == "Enabled"
    assert cluster["disableLocalAccounts"] is True  # the other safeguards stay on
    component = one(result, "mlops:azure:AksCluster")
    assert all(r.parent == component.urn for r in result.resources if r.package == "azure-native")


def test_bad_pools_are_refused_with_the_pool_named():
    with pytest.raises(ValueError, match="'gpu1'.*NC/ND"):
        AksPoolArgs(name="gpu1", vm_size="Standard_D4ds_v5", min_count=0, max_count=1, count=0, kind="gpu")
    with pytest.raises(ValueError, match="'gpu-pool-too-long'"):
        AksPoolArgs(name="gpu-pool-too-long", vm_size="Standard_NC4as_T4_v3", min_count=0, max_count=1, count=0)
    spot_system = AksPoolArgs(name="system", vm_size="Standard_D4ds_v5", min_count=1, max_count=3, count=1, spot=True)
    with pytest.raises(ValueError, match="system_pool must be on-demand CPU"):
        _cluster_args(system_pool=spot_system)


def test_network_policy_engine_none_is_refused():
    with pytest.raises(ValueError, match="network_policy: 'none' does not enforce.*calico, cilium, azure"):
        _cluster_args(network_policy="none")


def test_proxy_reaches_pods_through_aks_http_proxy_config(azure_prod):
    proxy = one(azure_prod, CLUSTER).inputs["httpProxyConfig"]
    assert proxy["httpsProxy"] == proxy["httpProxy"] == "http://10.60.0.4:3128"
    assert "10.50.0.0/16" in proxy["noProxy"] and ".blob.core.windows.net" in proxy["noProxy"]
    result = run_mocked(lambda: AksCluster("aks", _cluster_args()), region="uaenorth")
    assert "httpProxyConfig" not in one(result, CLUSTER).inputs

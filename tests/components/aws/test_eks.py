"""EKS: private API, KMS envelope encryption, all control-plane logs, IRSA, IdP groups bound by access entries."""

from __future__ import annotations

import json

import pytest

from components import versions
from components.aws.eks import CONTROL_PLANE_LOG_TYPES, EksCluster, EksClusterArgs, idp_group_role_arn
from infra.config import ConfigError
from tests.components.aws.stack import preview_aws_target
from tests.conftest import of_type, one, run_mocked

ACCOUNT = "123456789012"


def _platform_key_arn(aws):
    return next(k for k in of_type(aws, "aws:kms/key:Key") if k.name == "platform").outputs["arn"]


def test_api_endpoint_is_private_only(aws):
    vpc = one(aws, "aws:eks/cluster:Cluster").inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in vpc
    assert len(vpc["subnetIds"]) == 3


def test_secrets_are_envelope_encrypted_with_the_platform_key(aws):
    cluster = one(aws, "aws:eks/cluster:Cluster").inputs
    assert cluster["encryptionConfig"] == {"provider": {"keyArn": _platform_key_arn(aws)}, "resources": ["secrets"]}


def test_all_control_plane_log_types_go_to_an_encrypted_group(aws):
    cluster = one(aws, "aws:eks/cluster:Cluster").inputs
    assert sorted(cluster["enabledClusterLogTypes"]) == sorted(CONTROL_PLANE_LOG_TYPES)
    assert len(CONTROL_PLANE_LOG_TYPES) == 5
    group = next(g for g in of_type(aws, "aws:cloudwatch/logGroup:LogGroup") if g.name == "eks-control-plane")
    assert group.inputs["name"] == f"/aws/eks/{cluster['name']}/cluster"
    assert group.inputs["kmsKeyId"] == _platform_key_arn(aws)


def test_cluster_uses_access_entries_only_and_is_protected(aws):
    cluster = one(aws, "aws:eks/cluster:Cluster").inputs
    assert cluster["accessConfig"]["authenticationMode"] == "API"
    assert cluster["deletionProtection"] is True
    assert cluster["version"] == "1.33"


def test_oidc_provider_trusts_the_cluster_issuer_for_sts(aws):
    cluster = one(aws, "aws:eks/cluster:Cluster")
    oidc = one(aws, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert oidc.inputs["url"] == cluster.outputs["identities"][0]["oidcs"][0]["issuer"]
    assert oidc.inputs["clientIdLists"] == ["sts.amazonaws.com"]


def test_idp_groups_are_bound_with_scoped_access_policies(aws):
    entries = {e.inputs["principalArn"]: e.inputs for e in of_type(aws, "aws:eks/accessEntry:AccessEntry")}
    associations = {
        a.inputs["principalArn"]: a.inputs
        for a in of_type(aws, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    }
    expected = {
        "sg-mlops-platform-admins": ("AmazonEKSClusterAdminPolicy", "cluster"),
        "sg-mlops-ml-engineers": ("AmazonEKSEditPolicy", "namespace"),
        "sg-mlops-data-scientists": ("AmazonEKSViewPolicy", "namespace"),
    }
    assert len(entries) == len(associations) == 3
    for group, (policy, scope) in expected.items():
        principal = f"arn:aws:iam::{ACCOUNT}:role/{group}"
        assert entries[principal]["kubernetesGroups"] == [group]
        assert entries[principal]["type"] == "STANDARD"
        assert associations[principal]["policyArn"].endswith(f"/{policy}")
        assert associations[principal]["accessScope"]["type"] == scope
        if scope == "namespace":
            assert "ml-pipelines" in associations[principal]["accessScope"]["namespaces"]
            assert "mlops-system" not in associations[principal]["accessScope"]["namespaces"]


def test_cluster_role_may_use_only_its_key(aws):
    policy = next(p for p in of_type(aws, "aws:iam/rolePolicy:RolePolicy") if p.name == "eks-cluster-kms")
    assert f'"Resource": "{_platform_key_arn(aws)}"' in policy.inputs["policy"]


def test_idp_group_given_as_arn_is_used_as_is():
    arn = "arn:aws:iam::123456789012:role/AWSReservedSSO_PlatformAdmin_0123"
    assert idp_group_role_arn(arn, ACCOUNT) == arn
    assert idp_group_role_arn("admins", ACCOUNT) == f"arn:aws:iam::{ACCOUNT}:role/admins"


def test_public_endpoint_in_stack_config_is_refused_before_any_resource():
    with pytest.raises(ConfigError, match="publicClusterEndpoint"):
        preview_aws_target(overrides={"safeguards": {"publicClusterEndpoint": True}})


def test_public_endpoint_needs_explicit_cidrs():
    args = EksClusterArgs(
        cluster_name="c",
        kubernetes_version="1.33",
        region="me-central-1",
        account_id=ACCOUNT,
        subnet_ids=["subnet-a", "subnet-b"],
        kms_key_arn="arn:aws:kms:me-central-1:1:key/k",
        service_cidr="172.20.0.0/16",
        platform_admin_groups=["a"],
        ml_engineer_groups=["e"],
        data_scientist_groups=["d"],
        team_namespaces=["ml"],
        public_endpoint=True,
    )
    with pytest.raises(ValueError, match="public_access_cidrs"):
        run_mocked(lambda: EksCluster("eks", args))


def test_vpc_cni_addon_enforces_network_policy_at_the_pinned_version(aws):
    addon = one(aws, "aws:eks/addon:Addon")
    cluster = one(aws, "aws:eks/cluster:Cluster")
    assert addon.inputs["addonName"] == "vpc-cni"
    assert addon.inputs["addonVersion"] == versions.EKS_VPC_CNI_ADDON
    assert json.loads(addon.inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}
    assert addon.inputs["clusterName"] == cluster.inputs["name"]
    assert addon.inputs["resolveConflictsOnCreate"] == addon.inputs["resolveConflictsOnUpdate"] == "OVERWRITE"
    assert addon.parent == one(aws, "mlops:aws:EksCluster").urn

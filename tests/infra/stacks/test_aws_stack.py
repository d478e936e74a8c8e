"""The aws-uae-prod stack's AWS part previews offline: the expected resources, no unknown inputs, tagged,
pinned to the UAE region, and handing the cluster, buckets, key and network to the in-cluster layers."""

from __future__ import annotations

import json

import pytest

from infra.config import REQUIRED_TAGS
from infra.targets import TargetCluster
from policies.preview.model import PreviewResult
from tests.components.aws.stack import preview_aws_target

EXPECTED_COUNTS = {
    "aws:cloudtrail/trail:Trail": 1,
    "aws:cloudwatch/eventRule:EventRule": 4,
    "aws:cloudwatch/eventTarget:EventTarget": 4,
    "aws:cloudwatch/logGroup:LogGroup": 3,
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": 1,
    "aws:ec2/flowLog:FlowLog": 1,
    "aws:ec2/launchTemplate:LaunchTemplate": 4,
    "aws:ec2/routeTable:RouteTable": 3,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": 3,
    "aws:ec2/securityGroup:SecurityGroup": 1,
    "aws:ec2/subnet:Subnet": 3,
    "aws:ec2/vpc:Vpc": 1,
    "aws:ec2/vpcEndpoint:VpcEndpoint": 7,
    "aws:eks/accessEntry:AccessEntry": 3,
    "aws:eks/addon:Addon": 1,
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": 3,
    "aws:eks/cluster:Cluster": 1,
    "aws:eks/nodeGroup:NodeGroup": 4,
    "aws:guardduty/detector:Detector": 1,
    "aws:guardduty/detectorFeature:DetectorFeature": 2,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": 1,
    "aws:iam/role:Role": 5,
    "aws:iam/rolePolicy:RolePolicy": 4,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 4,
    "aws:kms/alias:Alias": 2,
    "aws:kms/key:Key": 2,
    "aws:s3/bucket:Bucket": 6,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 6,
    "aws:s3/bucketLogging:BucketLogging": 5,
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": 2,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 6,
    "aws:s3/bucketPolicy:BucketPolicy": 6,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 6,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 6,
    "aws:s3/bucketVersioning:BucketVersioning": 6,
    "aws:sqs/queue:Queue": 1,
    "aws:sqs/queuePolicy:QueuePolicy": 1,
    "kubernetes:helm.sh/v3:Release": 1,
    "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass": 2,
    "kubernetes:karpenter.sh/v1:NodePool": 2,
    "mlops:aws:AccessLogBucket": 1,
    "mlops:aws:AuditTrail": 1,
    "mlops:aws:EksCluster": 1,
    "mlops:aws:Karpenter": 1,
    "mlops:aws:KmsKey": 2,
    "mlops:aws:ManagedNodeGroup": 4,
    "mlops:aws:NodeRole": 1,
    "mlops:aws:PrivateNetwork": 1,
    "mlops:aws:SecureBucket": 5,
    "mlops:aws:ThreatDetection": 1,
    "pulumi:providers:aws": 1,
    "pulumi:providers:kubernetes": 1,
    "pulumi:pulumi:Stack": 1,
}
UNTAGGABLE = {
    "aws:cloudwatch/eventTarget:EventTarget",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
    "aws:guardduty/detectorFeature:DetectorFeature",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:kms/alias:Alias",
    "aws:sqs/queuePolicy:QueuePolicy",
}
"""AWS resource types without tags (the S3 bucket sub-resources too: their bucket carries the tags)."""


@pytest.fixture(scope="module")
def stack() -> tuple[PreviewResult, TargetCluster]:
    return preview_aws_target("aws-uae-prod")


def test_previews_the_expected_resource_set_with_no_unknown_inputs(stack):
    result, _ = stack
    assert result.counts() == EXPECTED_COUNTS
    assert result.unknown_inputs == []


def test_every_taggable_resource_carries_the_stack_tags(stack):
    result, _ = stack
    tagged = 0
    for resource in result.resources:
        if resource.package != "aws" or not resource.custom:
            continue
        if (
            resource.type in UNTAGGABLE
            or resource.type.startswith("aws:s3/bucket")
            and not resource.type.endswith(":Bucket")
        ):
            assert "tags" not in resource.inputs, f"{resource.type} is tagged; take it off UNTAGGABLE"
            continue
        tags = resource.inputs.get("tags", {})
        for tag in (*REQUIRED_TAGS, "project"):
            assert tags.get(tag), f"{resource.type} {resource.name} lacks tag {tag}"
        tagged += 1
    assert (
        tagged == 54
    )  # every Vpc, Subnet, ..., Bucket, Key, Role, Cluster, Addon, NodeGroup, Trail, Karpenter queue/rule, GuardDuty detector


def test_every_aws_resource_goes_through_the_provider_pinned_to_the_stack_region(stack):
    result, _ = stack
    (provider,) = [r for r in result.resources if r.type == "pulumi:providers:aws"]
    assert provider.inputs["region"] == "me-central-1"
    assert json.loads(provider.inputs["defaultTags"])["tags"]["data-classification"] == "confidential"
    for resource in result.resources:
        if resource.package == "aws" and resource.custom:
            assert resource.provider and resource.provider.startswith(provider.urn + "::"), resource.name


def test_kubeconfig_is_a_secret(stack):
    result, _ = stack
    (provider,) = [r for r in result.resources if r.type == "pulumi:providers:kubernetes"]
    assert provider.inputs["kubeconfig"] == "[secret]"


def test_target_cluster_hands_over_cluster_storage_key_network_and_identity(stack):
    from pulumi.runtime.sync_await import _sync_await

    _, target = stack

    def value(output):
        return _sync_await(output.future())

    assert value(target.cluster_name) == "aws-uae-prod"
    assert value(target.endpoint).startswith("https://")
    assert {k: value(v) for k, v in target.buckets.items()} == {
        name: f"s3://aws-uae-prod-{name}-123456789012"
        for name in ("datasets", "features", "models", "pipeline-artifacts")
    }
    assert value(target.encryption_key).startswith("arn:aws:kms:me-central-1:123456789012:key/")
    assert value(target.network["vpc_id"]).startswith("vpc-")
    assert target.network["vpc_cidr"] == "10.40.0.0/16"
    assert len([value(s) for s in target.network["private_subnet_ids"]]) == 3
    issuer = value(target.workload_identity["oidc_issuer_url"])
    assert issuer.startswith("oidc.eks.me-central-1.amazonaws.com/id/")
    assert value(target.workload_identity["oidc_provider_arn"]).endswith(f":oidc-provider/{issuer}")
    assert len(target.dependencies) == 5  # the four node groups and Karpenter
    assert {"kmsKeyArn", "vpcId", "oidcProviderArn", "auditTrailArn", "guardDutyDetectorId"} <= set(target.outputs)

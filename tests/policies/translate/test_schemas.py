"""The committed data files are what the generators make from the installed SDKs, and cover Checkov's AWS types."""

from __future__ import annotations

import json
import re

import pytest

from policies.translate import generate_aws_schema, generate_azure_schema
from tests import venvs

CHECKOV_AWS = venvs.CHECKOV_TERRAFORM_CHECKS
# Names Checkov's AWS checks mention that are not managed resources of terraform-provider-aws 6 (data sources,
# attributes) or were removed with EC2-Classic, so pulumi-aws 7 has no token for them.
NOT_RESOURCES = {
    "aws_iam_policy_document",
    "aws_kms_key_id",
    "aws_db_security_group",
    "aws_elasticache_security_group",
    "aws_redshift_security_group",
}


@pytest.mark.parametrize("generator", [generate_aws_schema, generate_azure_schema], ids=["aws", "azure"])
def test_regenerating_gives_the_committed_file(generator):
    assert generator.render(generator.generate(generator.sdk_root())) == generator.OUT.read_text()


@venvs.requires(CHECKOV_AWS, "Checkov's environment (.venv-checkov)")
def test_every_aws_type_checkov_checks_is_covered():
    named: set[str] = set()
    for path in [*CHECKOV_AWS.glob("resource/aws/*.py"), *CHECKOV_AWS.glob("graph_checks/aws/*")]:
        named |= set(re.findall(r"[\"'](aws_[a-z0-9_]+)[\"']", path.read_text()))
    data = json.loads(generate_aws_schema.OUT.read_text())
    produced = {entry.get("tf") for entry in data["resources"].values()}
    assert sorted(named - produced - NOT_RESOURCES) == []


@pytest.mark.parametrize(
    "token, tf_type",
    [
        ("aws:s3/bucket:Bucket", "aws_s3_bucket"),
        ("aws:s3/bucketV2:BucketV2", "aws_s3_bucket"),
        ("aws:ec2/vpc:Vpc", "aws_vpc"),
        ("aws:ec2/subnet:Subnet", "aws_subnet"),
        ("aws:ec2/securityGroup:SecurityGroup", "aws_security_group"),
        ("aws:ec2/launchTemplate:LaunchTemplate", "aws_launch_template"),
        ("aws:ec2/instance:Instance", "aws_instance"),
        ("aws:rds/instance:Instance", "aws_db_instance"),
        ("aws:cloudtrail/trail:Trail", "aws_cloudtrail"),
        ("aws:cloudwatch/logGroup:LogGroup", "aws_cloudwatch_log_group"),
        ("aws:eks/nodeGroup:NodeGroup", "aws_eks_node_group"),
        ("aws:ec2/flowLog:FlowLog", "aws_flow_log"),
        (
            "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
            "aws_s3_bucket_server_side_encryption_configuration",
        ),
        ("aws:apigateway/restApi:RestApi", "aws_api_gateway_rest_api"),
        ("aws:lambda/function:Function", "aws_lambda_function"),
        ("aws:ec2/capacityReservation:CapacityReservation", "aws_ec2_capacity_reservation"),
    ],
)
def test_terraform_type_names(token, tf_type):
    from policies.translate.aws import tf_type as lookup

    assert lookup(token) == tf_type


def test_autoscaling_group_scalar_list_gets_its_singular_name():
    from policies.translate.aws import _props, convert

    assert convert({"vpcZoneIdentifiers": ["subnet-1"]}, _props("aws:autoscaling/group:Group")) == {
        "vpc_zone_identifier": ["subnet-1"]
    }

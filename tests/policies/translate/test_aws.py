"""aws:* -> Terraform plan: exact Terraform types, names, block shapes and cross-resource references."""

from __future__ import annotations

import json

from policies.translate.model import Origin
from tests.policies.translate.conftest import configured, planned

KEY_ARN_PREFIX = "arn:aws:kms:me-central-1:123456789012:key/"
TAGS = {"owner": "ml", "cost-center": "cc1", "data-classification": "internal"}


def test_plan_has_the_fields_checkov_needs(mixed):
    plan = mixed.files["tfplan.json"]
    assert plan["format_version"] and plan["terraform_version"]
    bucket = planned(mixed, "aws_s3_bucket.data")
    assert bucket == {
        "address": "aws_s3_bucket.data",
        "mode": "managed",
        "type": "aws_s3_bucket",
        "name": "data",
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "schema_version": 0,
        "values": {"bucket": "mlops-data", "tags": TAGS, "region": "me-central-1"},
    }
    change = next(c for c in plan["resource_changes"] if c["address"] == "aws_s3_bucket.data")
    assert change["change"]["actions"] == ["create"] and change["change"]["after"] == bucket["values"]


def test_sse_rule_is_a_singular_block_list_with_nested_block(mixed):
    values = planned(mixed, "aws_s3_bucket_server_side_encryption_configuration.data")["values"]
    assert values["rule"] == [
        {
            "apply_server_side_encryption_by_default": [
                {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": values["rule"][0]["apply_server_side_encryption_by_default"][0][
                        "kms_master_key_id"
                    ],
                }
            ],
            "bucket_key_enabled": True,
        }
    ]
    assert values["rule"][0]["apply_server_side_encryption_by_default"][0]["kms_master_key_id"].startswith(
        KEY_ARN_PREFIX
    )


def test_node_group_taints_scaling_and_launch_template(mixed):
    values = planned(mixed, "aws_eks_node_group.gpu")["values"]
    assert values["taint"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
    assert values["scaling_config"] == [{"min_size": 0, "max_size": 4, "desired_size": 1}]
    assert all(isinstance(values["scaling_config"][0][k], int) for k in ("min_size", "max_size", "desired_size"))
    assert values["launch_template"][0]["version"] == "1" and values["instance_types"] == ["g5.2xlarge"]
    assert values["labels"] == {"mlops.platform/accelerator": "nvidia"}  # maps keep their keys


def test_launch_template_imds_and_volumes(mixed):
    values = planned(mixed, "aws_launch_template.gpu")["values"]
    assert values["metadata_options"] == [
        {"http_tokens": "required", "http_endpoint": "enabled", "http_put_response_hop_limit": 1}
    ]
    (mapping,) = values["block_device_mappings"]
    assert mapping["device_name"] == "/dev/xvda"
    assert mapping["ebs"] == [
        {"encrypted": "true", "kms_key_id": mapping["ebs"][0]["kms_key_id"], "volume_size": 200, "volume_type": "gp3"}
    ]


def test_eks_cluster_security_group_and_vpc(mixed):
    cluster = planned(mixed, "aws_eks_cluster.main")["values"]
    assert cluster["vpc_config"][0]["endpoint_public_access"] is False
    assert cluster["encryption_config"] == [
        {"provider": [{"key_arn": cluster["encryption_config"][0]["provider"][0]["key_arn"]}], "resources": ["secrets"]}
    ]
    assert cluster["enabled_cluster_log_types"] == ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    sg = planned(mixed, "aws_security_group.nodes")["values"]
    assert sg["ingress"] == [
        {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["10.0.0.0/16"], "description": "api"}
    ]
    assert planned(mixed, "aws_vpc.main")["values"] == {
        "cidr_block": "10.0.0.0/16",
        "enable_dns_hostnames": True,
        "tags": TAGS,
        "region": "me-central-1",
    }
    assert planned(mixed, "aws_subnet.private-a")["values"]["availability_zone"] == "me-central-1a"


def test_other_representative_types(mixed):
    assert planned(mixed, "aws_kms_key.data")["values"] == {
        "enable_key_rotation": True,
        "deletion_window_in_days": 30,
        "tags": TAGS,
        "region": "me-central-1",
    }
    flow = planned(mixed, "aws_flow_log.main")["values"]
    assert flow["traffic_type"] == "ALL" and flow["log_destination"].startswith("arn:aws:logs:")
    trail = planned(mixed, "aws_cloudtrail.audit")["values"]
    assert trail["is_multi_region_trail"] is True and trail["enable_log_file_validation"] is True
    assert planned(mixed, "aws_cloudwatch_log_group.flow")["values"]["retention_in_days"] == 365
    db = planned(mixed, "aws_db_instance.db")["values"]
    assert db["allocated_storage"] == 20 and db["storage_encrypted"] is True and db["publicly_accessible"] is False
    cache = planned(mixed, "aws_elasticache_replication_group.cache")["values"]
    assert cache["num_cache_clusters"] == 2 and cache["transit_encryption_enabled"] is True
    role = planned(mixed, "aws_iam_role.nodes")["values"]
    assert json.loads(role["assume_role_policy"])["Statement"][0]["Action"] == "sts:AssumeRole"
    policy = planned(mixed, "aws_s3_bucket_policy.data")["values"]["policy"]
    assert isinstance(policy, str) and json.loads(policy)["Statement"][0]["Effect"] == "Deny"


def test_references_link_bucket_satellites_and_cluster_parts(mixed):
    for satellite in ("server_side_encryption_configuration", "versioning", "public_access_block", "logging", "policy"):
        refs = configured(mixed, f"aws_s3_bucket_{satellite}.data")["expressions"]["bucket"]["references"]
        assert refs[-1] == "aws_s3_bucket.data", satellite
    assert (
        configured(mixed, "aws_s3_bucket_logging.data")["expressions"]["target_bucket"]["references"][-1]
        == "aws_s3_bucket.logs"
    )
    sse = configured(mixed, "aws_s3_bucket_server_side_encryption_configuration.data")["expressions"]
    assert sse["rule"][0]["apply_server_side_encryption_by_default"][0]["kms_master_key_id"]["references"] == [
        "aws_kms_key.data.arn",
        "aws_kms_key.data",
    ]
    group = configured(mixed, "aws_eks_node_group.gpu")["expressions"]
    assert group["cluster_name"]["references"] == ["aws_eks_cluster.main.name", "aws_eks_cluster.main"]
    assert group["launch_template"]["references"][-1] == "aws_launch_template.gpu"


def test_origins_point_back_at_pulumi(mixed, mixed_preview):
    origin = mixed.origins[("tfplan.json", "aws_eks_node_group.gpu")]
    assert origin == Origin(
        stack="mixed", stack_file="", urn=origin.urn, name="gpu", type="aws:eks/nodeGroup:NodeGroup"
    )
    assert origin.urn.endswith("aws:eks/nodeGroup:NodeGroup::gpu")


def test_same_pulumi_name_twice_gets_stable_unique_addresses():
    from policies.preview.model import PreviewResource, PreviewResult
    from policies.translate import translate

    def bucket(parent: str) -> PreviewResource:
        return PreviewResource(
            urn=f"urn:pulumi:s::p::{parent}$aws:s3/bucket:Bucket::b", type="aws:s3/bucket:Bucket", name="b"
        )

    result = PreviewResult(project="p", stack="s", source="", resources=[bucket("y"), bucket("x")])
    assert {k[1] for k in translate(result).origins} == {"aws_s3_bucket.b", "aws_s3_bucket.b_2"}
    assert translate(result).origins == translate(result).origins

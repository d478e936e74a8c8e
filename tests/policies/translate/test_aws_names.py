"""Terraform block and attribute names where Pulumi's differ: plural blocks stay plural, singular ones singular.

The SDK singularises nested class names, so ``blockDeviceMappings`` (Terraform ``block_device_mappings``) and
``taints`` (Terraform ``taint``) look alike; the provider-schema table tells them apart. These goldens pin the
names Checkov's checks and ours read.
"""

from __future__ import annotations

import json
import re

from policies.translate import generate_aws_schema
from policies.translate.aws import _props, convert
from tests import venvs

CHECKOV_AWS = venvs.CHECKOV_TERRAFORM_CHECKS


def tf(token: str, inputs: dict) -> dict:
    return convert(inputs, _props(token))


def test_launch_template_keeps_terraforms_plural_blocks():
    values = tf(
        "aws:ec2/launchTemplate:LaunchTemplate",
        {
            "blockDeviceMappings": [
                {"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "kmsKeyId": "k", "volumeSize": 200}}
            ],
            "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
            "tagSpecifications": [{"resourceType": "instance", "tags": {"owner": "ml"}}],
            "networkInterfaces": [{"associatePublicIpAddress": "false"}],
            "elasticGpuSpecifications": [{"type": "eg1.medium"}],
            "licenseSpecifications": [{"licenseConfigurationArn": "arn:l"}],
        },
    )
    assert values == {
        "block_device_mappings": [
            {"device_name": "/dev/xvda", "ebs": [{"encrypted": "true", "kms_key_id": "k", "volume_size": 200}]}
        ],
        "metadata_options": [{"http_tokens": "required", "http_put_response_hop_limit": 1}],
        "tag_specifications": [{"resource_type": "instance", "tags": {"owner": "ml"}}],
        "network_interfaces": [{"associate_public_ip_address": "false"}],
        "elastic_gpu_specifications": [{"type": "eg1.medium"}],
        "license_specification": [{"license_configuration_arn": "arn:l"}],  # Terraform's is singular here
    }


def test_instance_blocks():
    values = tf(
        "aws:ec2/instance:Instance",
        {
            "ebsBlockDevices": [{"deviceName": "/dev/sdb", "encrypted": True}],
            "rootBlockDevice": {"encrypted": True},
            "networkInterfaces": [{"networkInterfaceId": "eni-1", "deviceIndex": 0}],
            "metadataOptions": {"httpTokens": "required"},
        },
    )
    assert values == {
        "ebs_block_device": [{"device_name": "/dev/sdb", "encrypted": True}],
        "root_block_device": [{"encrypted": True}],
        "network_interface": [{"network_interface_id": "eni-1", "device_index": 0}],
        "metadata_options": [{"http_tokens": "required"}],
    }


def test_security_group_rules_node_group_taints_and_bucket_encryption_rules_are_singular():
    rule = {"fromPort": 443, "toPort": 443, "protocol": "tcp", "cidrBlocks": ["10.0.0.0/8"]}
    assert tf("aws:ec2/securityGroup:SecurityGroup", {"ingress": [rule], "egress": [rule]}) == {
        "ingress": [{"from_port": 443, "to_port": 443, "protocol": "tcp", "cidr_blocks": ["10.0.0.0/8"]}],
        "egress": [{"from_port": 443, "to_port": 443, "protocol": "tcp", "cidr_blocks": ["10.0.0.0/8"]}],
    }
    assert tf("aws:eks/nodeGroup:NodeGroup", {"taints": [{"key": "nvidia.com/gpu", "effect": "NO_SCHEDULE"}]}) == {
        "taint": [{"key": "nvidia.com/gpu", "effect": "NO_SCHEDULE"}]
    }
    sse = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    assert tf(sse, {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]}) == {
        "rule": [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "aws:kms"}]}]
    }
    assert tf(
        "aws:autoscaling/group:Group", {"vpcZoneIdentifiers": ["subnet-1"], "tags": [{"key": "a", "value": "b"}]}
    ) == {"vpc_zone_identifier": ["subnet-1"], "tag": [{"key": "a", "value": "b"}]}


def test_scalars_pulumi_renamed_get_terraforms_names():
    assert tf("aws:sns/topicSubscription:TopicSubscription", {"topic": "arn:t"}) == {"topic_arn": "arn:t"}
    assert tf("aws:lambda/permission:Permission", {"function": "f"}) == {"function_name": "f"}
    assert tf("aws:apigateway/stage:Stage", {"restApi": "r", "deployment": "d"}) == {
        "rest_api_id": "r",
        "deployment_id": "d",
    }


def test_name_table_entries_name_real_sdk_classes():
    data = json.loads(generate_aws_schema.TF_NAMES.read_text())
    assert data["source"] and data["renames"]["ec2:LaunchTemplate"]["blockDeviceMappings"] == "block_device_mappings"
    sdk = generate_aws_schema._Sdk(generate_aws_schema.sdk_root())
    resources = {f"{module}:{cls}" for _, module, cls, _, _ in generate_aws_schema.resource_classes(sdk.root)}
    for key, names in data["renames"].items():
        module, cls = key.split(":")
        assert key in resources or cls in sdk.inputs_of(module), key
        assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in names.values()), key


# Checkov names both forms for different types of one check file (aws_instance's Terraform block is
# ``network_interface``, aws_launch_template's ``network_interfaces``; encryption_config's ``resources`` is a list
# of strings, the kube-scheduler config's ``resource`` a block).
CROSS_TYPE_WORDS = {("aws_instance", "network_interface"), ("aws_eks_cluster", "resource")}


@venvs.requires(CHECKOV_AWS, "Checkov's environment (.venv-checkov)")
def test_block_names_agree_with_the_names_checkovs_aws_checks_read():
    """Where a Checkov check on a type reads a block by its plural or singular form, translation uses that form."""
    read: dict[str, set[str]] = {}
    for path in [*CHECKOV_AWS.glob("resource/aws/*.py"), *CHECKOV_AWS.glob("graph_checks/aws/*")]:
        text = path.read_text()
        words = {w for s in re.findall(r"[\"']([a-z0-9_./\[\]*]+)[\"']", text) for w in re.split(r"[./\[\]*]+", s) if w}
        for type_ in set(re.findall(r"[\"'](aws_[a-z0-9_]+)[\"']", text)):
            read.setdefault(type_, set()).update(words)
    data = json.loads(generate_aws_schema.OUT.read_text())
    wrong: set[tuple[str, str, str]] = set()

    def walk(type_: str, props: dict, seen: frozenset[str]) -> None:
        for spec in props.values():
            if not isinstance(spec, list) or spec[1] not in ("L", "O"):
                continue
            name, other = spec[0], {spec[0] + "s", spec[0] + "es", spec[0][:-1] if spec[0].endswith("s") else ""}
            if name not in read[type_] and other & read[type_] and (type_, name) not in CROSS_TYPE_WORDS:
                wrong.add((type_, name, " / ".join(sorted(other & read[type_]))))
            if spec[2] and spec[2] not in seen:
                walk(type_, data["classes"].get(spec[2], {}), seen | {spec[2]})

    for entry in data["resources"].values():
        if entry.get("tf") in read:
            walk(entry["tf"], entry.get("p", {}), frozenset())
    assert sorted(wrong) == []

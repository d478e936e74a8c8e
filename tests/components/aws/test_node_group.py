"""Managed node groups: IMDSv2 only, encrypted root volumes, GPU taint and labels from components.gpu."""

from __future__ import annotations

import pytest

from components.aws.node_group import NODE_POLICIES, ami_type, eks_taints
from components.gpu import GPU_TAINT, cpu_node_labels, gpu_node_labels
from tests.components.aws.stack import child_of
from tests.conftest import of_type

ACCOUNT = "123456789012"


def _groups(aws):
    return {g.inputs["nodeGroupName"]: g for g in of_type(aws, "aws:eks/nodeGroup:NodeGroup")}


def test_every_pool_of_the_stack_is_a_node_group(aws):
    assert set(_groups(aws)) == {"system", "cpu-batch", "gpu-a10g", "gpu-train"}


def test_launch_templates_require_imdsv2_and_encrypt_root_volumes(aws):
    platform_key = next(k for k in of_type(aws, "aws:kms/key:Key") if k.name == "platform").outputs["arn"]
    disks = {"system": 100, "cpu-batch": 100, "gpu-a10g": 200, "gpu-train": 500}
    for pool, group in _groups(aws).items():
        template = child_of(aws, group, "aws:ec2/launchTemplate:LaunchTemplate")
        assert group.property_dependencies["launchTemplate"] == [template.urn]
        metadata = template.inputs["metadataOptions"]
        assert metadata["httpTokens"] == "required"
        assert metadata["httpEndpoint"] == "enabled"
        assert 1 <= metadata["httpPutResponseHopLimit"] <= 2
        (root,) = template.inputs["blockDeviceMappings"]
        assert root["ebs"] == {
            "volumeSize": disks[pool],
            "volumeType": "gp3",
            "encrypted": "true",
            "kmsKeyId": platform_key,
            "deleteOnTermination": "true",
        }


def test_gpu_groups_carry_the_gpu_taint_and_labels(aws):
    groups = _groups(aws)
    expected = {"gpu-a10g": ("nvidia-a10g", 1), "gpu-train": ("nvidia-a100", 8)}
    for pool, (model, count) in expected.items():
        group = groups[pool].inputs
        assert group["amiType"] == "AL2023_x86_64_NVIDIA"
        assert group["taints"][0] == {"key": GPU_TAINT["key"], "value": GPU_TAINT["value"], "effect": "NO_SCHEDULE"}
        assert gpu_node_labels(pool, model, count).items() <= group["labels"].items()
    assert groups["gpu-train"].inputs["labels"]["workload"] == "training"


def test_cpu_groups_have_no_gpu_taint(aws):
    groups = _groups(aws)
    for pool in ("system", "cpu-batch"):
        group = groups[pool].inputs
        assert group["amiType"] == "AL2023_x86_64_STANDARD"
        assert group["taints"] == []
        assert cpu_node_labels(pool).items() <= group["labels"].items()


def test_capacity_and_scaling_follow_the_pools(aws):
    groups = _groups(aws)
    assert groups["cpu-batch"].inputs["capacityType"] == "SPOT"
    assert groups["system"].inputs["capacityType"] == "ON_DEMAND"
    assert groups["gpu-train"].inputs["capacityType"] == "ON_DEMAND"
    assert groups["cpu-batch"].inputs["scalingConfig"] == {"minSize": 0, "maxSize": 20, "desiredSize": 2}
    assert groups["gpu-train"].inputs["instanceTypes"] == ["p4d.24xlarge"]


def test_node_groups_run_in_the_private_subnets(aws):
    subnets = {s.urn for s in of_type(aws, "aws:ec2/subnet:Subnet")}
    for group in _groups(aws).values():
        assert len(group.inputs["subnetIds"]) == 3
        assert set(group.property_dependencies["subnetIds"]) == subnets


def test_node_role_has_exactly_the_worker_policies(aws):
    attached = {
        a.inputs["policyArn"].rsplit("/", 1)[1]
        for a in of_type(aws, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.name.startswith("nodes-")
    }
    assert attached == set(NODE_POLICIES)


def test_pool_taints_join_the_gpu_taint_without_duplicates():
    taints = eks_taints("gpu", [dict(GPU_TAINT), {"key": "team", "value": "vision", "effect": "NoExecute"}])
    assert taints == [
        {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"},
        {"key": "team", "value": "vision", "effect": "NO_EXECUTE"},
    ]
    assert eks_taints("cpu", []) == []


@pytest.mark.parametrize(
    "kind, instance_type, expected",
    [
        ("gpu", "p4d.24xlarge", "AL2023_x86_64_NVIDIA"),
        ("gpu", "g6e.xlarge", "AL2023_x86_64_NVIDIA"),
        ("gpu", "g5g.2xlarge", "AL2023_ARM_64_NVIDIA"),
        ("cpu", "m6i.xlarge", "AL2023_x86_64_STANDARD"),
        ("cpu", "c7gn.large", "AL2023_ARM_64_STANDARD"),
        ("cpu", "m7i-flex.large", "AL2023_x86_64_STANDARD"),
    ],
)
def test_ami_type_matches_accelerator_and_architecture(kind, instance_type, expected):
    assert ami_type(kind, instance_type) == expected

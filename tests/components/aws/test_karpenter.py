"""Karpenter on the AWS target: the controller's least-privilege IRSA role, the encrypted interruption queue, and a
NodePool + EC2NodeClass per GPU pool carrying the GPU taint, within the pool's maxSize."""

from __future__ import annotations

import json

import pytest

from components import gpu, versions
from infra.config import ConfigError
from infra.targets.aws import build
from tests.components.aws.stack import stack_config
from tests.conftest import of_type, one, run_mocked

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"


def test_one_node_pool_per_gpu_pool_with_taint_labels_and_gpu_limit(aws):
    pools = {p.inputs["metadata"]["name"]: p.inputs["spec"] for p in of_type(aws, NODE_POOL)}
    assert set(pools) == {"gpu-a10g", "gpu-train"}  # CPU pools keep their managed node groups only
    train = pools["gpu-train"]
    template = train["template"]
    assert template["spec"]["taints"][0] == gpu.GPU_TAINT
    assert template["metadata"]["labels"] == {
        "workload": "training",
        **gpu.gpu_node_labels("gpu-train", "nvidia-a100", 8),
    }
    assert {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["p4d.24xlarge"]} in template[
        "spec"
    ]["requirements"]
    assert train["limits"] == {gpu.GPU_RESOURCE: "32"}  # (maxSize 4 - minSize 0) x 8 GPUs
    assert train["disruption"]["consolidationPolicy"] == "WhenEmpty"  # running training is never consolidated
    assert train["disruption"]["budgets"] == [{"nodes": "1"}]


def test_node_class_encrypts_with_the_stack_key_and_requires_imdsv2(aws):
    key_arn = one(aws, "aws:kms/key:Key", "platform").outputs["arn"]
    spec = next(c.inputs["spec"] for c in of_type(aws, NODE_CLASS) if c.inputs["metadata"]["name"] == "gpu-train")
    ebs = spec["blockDeviceMappings"][0]["ebs"]
    assert ebs == {
        "volumeSize": "500Gi",
        "volumeType": "gp3",
        "encrypted": True,
        "kmsKeyID": key_arn,
        "deleteOnTermination": True,
    }
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
    subnet_ids = [t["id"] for t in spec["subnetSelectorTerms"]]
    assert len(subnet_ids) == 3 and all(i.startswith("subnet-") for i in subnet_ids)  # the three private subnets
    role = one(aws, "aws:iam/role:Role", "nodes")
    assert spec["role"] == role.outputs["name"]
    assert spec["tags"]["data-classification"] == "confidential"


def test_controller_role_is_irsa_for_the_karpenter_service_account_only(aws):
    trust = json.loads(one(aws, "aws:iam/role:Role", "karpenter-controller").inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert "system:serviceaccount:kube-system:karpenter" in json.dumps(statement["Condition"])


def test_controller_policy_scopes_every_write_to_this_cluster(aws):
    policy = json.loads(one(aws, "aws:iam/rolePolicy:RolePolicy", "karpenter-controller").inputs["policy"])
    for statement in policy["Statement"]:
        if statement["Resource"] == "*":
            assert all(
                a.startswith(("ec2:Describe", "pricing:Get"))
                for a in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
            )
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if any(a in ("ec2:TerminateInstances", "ec2:CreateTags", "iam:DeleteInstanceProfile") for a in actions):
            assert "kubernetes.io/cluster/aws-uae-prod" in json.dumps(statement["Condition"]), statement["Sid"]
    passrole = next(s for s in policy["Statement"] if s["Action"] == "iam:PassRole")
    assert passrole["Resource"] == one(aws, "aws:iam/role:Role", "nodes").outputs["arn"]


def test_interruption_queue_is_encrypted_tls_only_and_fed_by_eventbridge(aws):
    queue = one(aws, "aws:sqs/queue:Queue")
    assert queue.inputs["sqsManagedSseEnabled"] is True
    policy = json.loads(one(aws, "aws:sqs/queuePolicy:QueuePolicy").inputs["policy"])
    assert any(
        s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s.get("Condition")) for s in policy["Statement"]
    )
    rules = of_type(aws, "aws:cloudwatch/eventRule:EventRule")
    kinds = {json.loads(r.inputs["eventPattern"])["detail-type"][0] for r in rules}
    assert "EC2 Spot Instance Interruption Warning" in kinds and len(rules) == 4
    assert {t.inputs["arn"] for t in of_type(aws, "aws:cloudwatch/eventTarget:EventTarget")} == {queue.outputs["arn"]}


def test_karpenter_chart_is_pinned_and_runs_on_the_system_pool(aws):
    release = one(aws, "kubernetes:helm.sh/v3:Release", "karpenter")
    assert release.inputs["chart"] == f"{versions.KARPENTER.repository}/karpenter"
    assert release.inputs["version"] == versions.KARPENTER.version
    assert release.inputs["values"]["nodeSelector"] == {gpu.LABEL_POOL: "system"}


def test_aws_gpu_pool_held_above_min_size_is_refused():
    raw = stack_config().model_dump(by_alias=True)
    pools = raw["nodePools"]
    pools[2]["desiredSize"] = 1
    cfg = stack_config(overrides={"nodePools": pools})
    with pytest.raises(ConfigError, match=r"mlops:nodePools\[2\].desiredSize = 1: .*allowed: 0"):
        run_mocked(lambda: build(cfg), stack="aws-uae-prod")

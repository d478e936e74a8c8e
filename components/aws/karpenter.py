"""Karpenter on EKS: GPU nodes on demand for the GPU pools, within each pool's maxSize.

- Controller: the pinned ``karpenter`` chart (:data:`components.versions.KARPENTER`) in ``kube-system`` on the
  system pool, its IAM role assumed through IRSA by the ``karpenter`` ServiceAccount only. The role may launch,
  tag and terminate only instances, volumes and launch templates that carry this cluster's ownership tag and a
  Karpenter NodePool tag, pass only the cluster's node role to EC2, manage only instance profiles tagged for this
  cluster, and read only its own interruption queue (upstream's reference policy, scoped to one cluster).
- Interruptions: an SQS queue (server-side encrypted, TLS only, 5 minutes' retention) fed by EventBridge rules for
  spot interruption warnings, rebalance recommendations, scheduled health events and instance state changes, so
  Karpenter drains a node before EC2 takes it away.
- Per GPU pool: an EC2NodeClass (AL2023 with the NVIDIA driver, the pool's disk KMS-encrypted with the stack's
  key, IMDSv2 only with hop limit 1, the VPC's private subnets, the cluster's security group and node role, the
  stack's tags) and a NodePool (the pool's instance type and capacity type, the GPU taint and labels from
  :mod:`components.gpu`, a GPU limit, and disruption only of empty nodes: running training is never consolidated
  away).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi

from components import versions
from components.aws._iam import policy
from components.gpu import GPU_RESOURCE, GPU_TAINT, node_labels
from components.kubernetes.helm import pinned_release

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "karpenter"
NODE_POOL_API = "karpenter.sh/v1"
NODE_CLASS_API = "karpenter.k8s.aws/v1"
ROOT_DEVICE = "/dev/xvda"
INTERRUPTION_EVENTS: dict[str, dict[str, Any]] = {
    "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "instance-state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
}
"""EventBridge patterns Karpenter's interruption handling consumes."""
EMPTY_NODE_GRACE = "10m"
"""How long a GPU node stays empty before Karpenter removes it."""


@dataclass
class GpuNodePool:
    """One ``mlops:nodePools[]`` GPU pool as Karpenter provisions it."""

    pool: str
    instance_type: str
    gpu_model: str
    gpu_count: int
    max_gpus: int
    """NodePool limit on ``nvidia.com/gpu``: what Karpenter may add for the pool."""
    capacity: Literal["on-demand", "spot"] = "on-demand"
    disk_size_gb: int = 100
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: Sequence[Mapping[str, str]] = ()


@dataclass
class KarpenterArgs:
    cluster_name: pulumi.Input[str]
    region: str
    account_id: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer_url: pulumi.Input[str]
    node_role_arn: pulumi.Input[str]
    node_role_name: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    kms_key_arn: pulumi.Input[str]
    gpu_pools: Sequence[GpuNodePool]
    system_pool: str
    """The pool the controller runs on (never a node it manages itself)."""
    chart: versions.HelmChart = versions.KARPENTER
    ami_alias: str = versions.KARPENTER_AMI_ALIAS
    imds_hop_limit: int = 1
    tags: Mapping[str, str] = field(default_factory=dict)


def _arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def controller_policy(cluster: str, region: str, account: str, queue_arn: str, node_role_arn: str) -> str:
    """The controller's IAM policy, every write scoped to this cluster's tagged resources."""
    owned = f"aws:ResourceTag/kubernetes.io/cluster/{cluster}"
    requested = f"aws:RequestTag/kubernetes.io/cluster/{cluster}"
    ec2 = lambda *kinds: [_arn("ec2", region, "*", f"{k}/*") for k in kinds]
    launched = ec2("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")
    profile = f"arn:aws:iam::{account}:instance-profile/*"
    return policy(
        [
            {
                "Sid": "LaunchFromSharedResources",
                "Effect": "Allow",
                "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
                "Resource": [
                    f"arn:aws:ec2:{region}::image/*",
                    f"arn:aws:ec2:{region}::snapshot/*",
                    *ec2("security-group", "subnet", "capacity-reservation"),
                ],
            },
            {
                "Sid": "LaunchFromOwnTemplates",
                "Effect": "Allow",
                "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
                "Resource": ec2("launch-template"),
                "Condition": {
                    "StringEquals": {owned: "owned"},
                    "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                },
            },
            {
                "Sid": "CreateOwnedResources",
                "Effect": "Allow",
                "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
                "Resource": launched,
                "Condition": {
                    "StringEquals": {requested: "owned", "aws:RequestTag/eks:eks-cluster-name": cluster},
                    "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
                },
            },
            {
                "Sid": "TagOnCreate",
                "Effect": "Allow",
                "Action": "ec2:CreateTags",
                "Resource": launched,
                "Condition": {
                    "StringEquals": {
                        requested: "owned",
                        "aws:RequestTag/eks:eks-cluster-name": cluster,
                        "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                    },
                    "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
                },
            },
            {
                "Sid": "TagOwnedInstances",
                "Effect": "Allow",
                "Action": "ec2:CreateTags",
                "Resource": ec2("instance"),
                "Condition": {
                    "StringEquals": {owned: "owned"},
                    "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                    "ForAllValues:StringEquals": {
                        "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                    },
                },
            },
            {
                "Sid": "DeleteOwnedResources",
                "Effect": "Allow",
                "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
                "Resource": ec2("instance", "launch-template"),
                "Condition": {
                    "StringEquals": {owned: "owned"},
                    "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                },
            },
            {
                "Sid": "RegionalReads",
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeAvailabilityZones",
                    "ec2:DescribeCapacityReservations",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstances",
                    "ec2:DescribeInstanceTypeOfferings",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplates",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSpotPriceHistory",
                    "ec2:DescribeSubnets",
                ],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
            },
            {
                "Sid": "AmiParameters",
                "Effect": "Allow",
                "Action": "ssm:GetParameter",
                "Resource": f"arn:aws:ssm:{region}::parameter/aws/service/*",
            },
            {"Sid": "Pricing", "Effect": "Allow", "Action": "pricing:GetProducts", "Resource": "*"},
            {
                "Sid": "InterruptionQueue",
                "Effect": "Allow",
                "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
                "Resource": queue_arn,
            },
            {
                "Sid": "PassNodeRole",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": node_role_arn,
                "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
            },
            {
                "Sid": "CreateInstanceProfiles",
                "Effect": "Allow",
                "Action": ["iam:CreateInstanceProfile", "iam:TagInstanceProfile"],
                "Resource": profile,
                "Condition": {
                    "StringEquals": {
                        requested: "owned",
                        "aws:RequestTag/eks:eks-cluster-name": cluster,
                        "aws:RequestTag/topology.kubernetes.io/region": region,
                    },
                    "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
                },
            },
            {
                "Sid": "ManageOwnedInstanceProfiles",
                "Effect": "Allow",
                "Action": [
                    "iam:AddRoleToInstanceProfile",
                    "iam:RemoveRoleFromInstanceProfile",
                    "iam:DeleteInstanceProfile",
                    "iam:TagInstanceProfile",
                ],
                "Resource": profile,
                "Condition": {
                    "StringEquals": {owned: "owned", "aws:ResourceTag/topology.kubernetes.io/region": region},
                    "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"},
                },
            },
            {"Sid": "ReadInstanceProfiles", "Effect": "Allow", "Action": "iam:GetInstanceProfile", "Resource": profile},
            {
                "Sid": "DescribeCluster",
                "Effect": "Allow",
                "Action": "eks:DescribeCluster",
                "Resource": f"arn:aws:eks:{region}:{account}:cluster/{cluster}",
            },
        ]
    )


def queue_policy(queue_arn: str) -> str:
    """EventBridge (and SQS itself) may send; nothing reaches the queue without TLS."""
    return policy(
        [
            {
                "Sid": "EventBridgeSends",
                "Effect": "Allow",
                "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:*",
                "Resource": queue_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ]
    )


def node_class_spec(
    pool: GpuNodePool, args: KarpenterArgs, subnet_ids: Sequence[str], role: str, cluster: str
) -> dict[str, Any]:
    return {
        "amiSelectorTerms": [{"alias": args.ami_alias}],
        "role": role,
        "subnetSelectorTerms": [{"id": s} for s in subnet_ids],
        "securityGroupSelectorTerms": [{"tags": {"aws:eks:cluster-name": cluster}}],
        "metadataOptions": {
            "httpEndpoint": "enabled",
            "httpProtocolIPv6": "disabled",
            "httpPutResponseHopLimit": args.imds_hop_limit,
            "httpTokens": "required",
        },
        "blockDeviceMappings": [
            {
                "deviceName": ROOT_DEVICE,
                "ebs": {
                    "volumeSize": f"{pool.disk_size_gb}Gi",
                    "volumeType": "gp3",
                    "encrypted": True,
                    "kmsKeyID": args.kms_key_arn,
                    "deleteOnTermination": True,
                },
            }
        ],
        "tags": {**args.tags, "mlops.platform/pool": pool.pool},
    }


def node_pool_spec(pool: GpuNodePool, node_class: str) -> dict[str, Any]:
    taints = [dict(GPU_TAINT)] + [dict(t) for t in pool.taints if t["key"] != GPU_TAINT["key"]]
    return {
        "template": {
            "metadata": {"labels": node_labels(pool.pool, "gpu", pool.gpu_model, pool.gpu_count, dict(pool.labels))},
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": node_class},
                "taints": taints,
                "requirements": [
                    {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": [pool.instance_type]},
                    {"key": "karpenter.sh/capacity-type", "operator": "In", "values": [pool.capacity]},
                ],
                "expireAfter": "720h",
            },
        },
        "disruption": {
            "consolidationPolicy": "WhenEmpty",
            "consolidateAfter": EMPTY_NODE_GRACE,
            "budgets": [{"nodes": "1"}],
        },
        "limits": {GPU_RESOURCE: str(pool.max_gpus)},
    }


class Karpenter(pulumi.ComponentResource):
    """Karpenter's IAM role, interruption queue and rules, Helm release, and a NodeClass/NodePool per GPU pool."""

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:Karpenter", name, None, opts)
        from pulumi_aws import cloudwatch, iam, sqs
        from pulumi_kubernetes.apiextensions import CustomResource

        from components.services.aws import irsa_trust_policy

        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        queue = sqs.Queue(
            f"{name}-interruptions",
            name=pulumi.Output.concat(args.cluster_name, "-karpenter"),
            message_retention_seconds=300,
            sqs_managed_sse_enabled=True,
            tags=tags,
            opts=child,
        )
        # SQS queue URLs are https://sqs.<region>.amazonaws.com/<account>/<name>: built here, the policy also
        # previews offline (the queue's url is computed by AWS)
        url = pulumi.Output.concat("https://sqs.", args.region, ".amazonaws.com/", args.account_id, "/", queue.name)
        sqs.QueuePolicy(
            f"{name}-interruptions",
            queue_url=url,
            policy=queue.arn.apply(queue_policy),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[queue]),
        )
        for event, pattern in INTERRUPTION_EVENTS.items():
            rule = cloudwatch.EventRule(
                f"{name}-{event}",
                name=pulumi.Output.concat(args.cluster_name, "-karpenter-", event),
                event_pattern=json.dumps(pattern, sort_keys=True),
                tags=tags,
                opts=child,
            )
            cloudwatch.EventTarget(f"{name}-{event}", rule=rule.name, arn=queue.arn, opts=child)
        role = iam.Role(
            f"{name}-controller",
            assume_role_policy=pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer_url).apply(
                lambda v: irsa_trust_policy(v[0], v[1], NAMESPACE, SERVICE_ACCOUNT)
            ),
            tags=tags,
            opts=child,
        )
        iam.RolePolicy(
            f"{name}-controller",
            role=role.id,
            name="karpenter-controller",
            policy=pulumi.Output.all(args.cluster_name, args.account_id, queue.arn, args.node_role_arn).apply(
                lambda v: controller_policy(v[0], args.region, v[1], v[2], v[3])
            ),
            opts=child,
        )
        release = pinned_release(
            name,
            "karpenter",
            args.chart,
            NAMESPACE,
            values={
                "settings": {"clusterName": args.cluster_name, "interruptionQueue": queue.name},
                "serviceAccount": {"name": SERVICE_ACCOUNT, "annotations": {"eks.amazonaws.com/role-arn": role.arn}},
                "replicas": 2,
                "nodeSelector": {"mlops.platform/pool": args.system_pool},
                "controller": {
                    "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
                },
            },
            opts=child,
        )
        after = pulumi.ResourceOptions(parent=self, depends_on=[release])  # CRDs and webhooks first
        for pool in args.gpu_pools:
            node_class = CustomResource(
                f"{name}-nodeclass-{pool.pool}",
                api_version=NODE_CLASS_API,
                kind="EC2NodeClass",
                metadata={"name": pool.pool},
                spec=pulumi.Output.all(list(args.subnet_ids), args.node_role_name, args.cluster_name).apply(
                    lambda v, p=pool: node_class_spec(p, args, v[0], v[1], v[2])
                ),
                opts=after,
            )
            CustomResource(
                f"{name}-nodepool-{pool.pool}",
                api_version=NODE_POOL_API,
                kind="NodePool",
                metadata={"name": pool.pool},
                spec=node_pool_spec(pool, pool.pool),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[release, node_class]),
            )
        self.register_outputs({"interruptionQueue": queue.name})

"""EKS managed node groups: the node IAM role, and CPU/GPU groups on hardened launch templates."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi

from components.aws._iam import assume_role_policy, managed_policy
from components.errors import InputError
from components.gpu import GPU_TAINT, node_labels

NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly")
AMI_TYPES = {
    ("x86_64", "cpu"): "AL2023_x86_64_STANDARD",
    ("x86_64", "gpu"): "AL2023_x86_64_NVIDIA",
    ("arm64", "cpu"): "AL2023_ARM_64_STANDARD",
    ("arm64", "gpu"): "AL2023_ARM_64_NVIDIA",
}
"""EKS-optimised Amazon Linux 2023; the NVIDIA variants ship the driver (the GPU Operator leaves it alone)."""
_GRAVITON_FAMILY = re.compile(r"^[a-z]+\d+[a-z]*g[a-z]*$")
"""Graviton (arm64) instance families carry a ``g`` after the generation: m7g, c7gn, r6gd, g5g."""
TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}
"""Kubernetes taint effect -> EKS API name."""
CAPACITY_TYPES = {"on-demand": "ON_DEMAND", "spot": "SPOT"}
ROOT_DEVICE = "/dev/xvda"


@dataclass
class NodeRoleArgs:
    account_id: pulumi.Input[str]
    tags: Mapping[str, str] = field(default_factory=dict)


class NodeRole(pulumi.ComponentResource):
    """IAM role the worker nodes run as: worker, CNI and ECR read-only policies, nothing else."""

    arn: pulumi.Output[str]
    role_name: pulumi.Output[str]

    def __init__(self, name: str, args: NodeRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:NodeRole", name, None, opts)
        from pulumi_aws import iam

        child = pulumi.ResourceOptions(parent=self)
        role = iam.Role(
            name, assume_role_policy=assume_role_policy("ec2.amazonaws.com"), tags=dict(args.tags), opts=child
        )
        self.attachments = [
            iam.RolePolicyAttachment(
                f"{name}-{policy_name}", role=role.name, policy_arn=managed_policy(policy_name), opts=child
            )
            for policy_name in NODE_POLICIES
        ]
        self.arn = role.arn
        self.role_name = role.name
        self.register_outputs({"arn": self.arn, "name": self.role_name})


@dataclass
class ManagedNodeGroupArgs:
    cluster_name: pulumi.Input[str]
    kubernetes_version: str
    node_role_arn: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    kms_key_arn: pulumi.Input[str]
    """Key that encrypts the nodes' root volumes."""
    pool: str
    kind: Literal["cpu", "gpu"]
    instance_type: str
    min_size: int
    max_size: int
    desired_size: int
    capacity: Literal["on-demand", "spot"] = "on-demand"
    disk_size_gb: int = 100
    gpu_model: str | None = None
    gpu_count: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    """The pool's own labels; the platform's labels (``components.gpu``) are added and win."""
    taints: Sequence[Mapping[str, str]] = ()
    """The pool's own taints (Kubernetes effect names); GPU pools always get ``components.gpu.GPU_TAINT`` too."""
    imds_hop_limit: int = 1
    """IMDSv2 response hop limit: 1 keeps instance credentials away from pods (they use IRSA)."""
    tags: Mapping[str, str] = field(default_factory=dict)


def eks_taints(kind: str, taints: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    """The pool's taints in EKS form, with the GPU taint first on GPU pools (never duplicated)."""
    wanted = ([GPU_TAINT] if kind == "gpu" else []) + [
        t for t in taints if kind != "gpu" or t["key"] != GPU_TAINT["key"]
    ]
    return [{"key": t["key"], "value": t.get("value", ""), "effect": TAINT_EFFECTS[t["effect"]]} for t in wanted]


def ami_type(kind: str, instance_type: str) -> str:
    """EKS AMI type for a pool: NVIDIA or standard, for the instance family's CPU architecture."""
    arch = "arm64" if _GRAVITON_FAMILY.match(instance_type.split(".", 1)[0]) else "x86_64"
    return AMI_TYPES[(arch, kind)]


class ManagedNodeGroup(pulumi.ComponentResource):
    """One node pool: launch template (IMDSv2 only, KMS-encrypted gp3 root) and the EKS managed node group."""

    node_group: Any

    def __init__(self, name: str, args: ManagedNodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:ManagedNodeGroup", name, None, opts)
        if not args.min_size <= args.desired_size <= args.max_size:
            raise InputError(
                f"node group {args.pool}: desired size {args.desired_size} is outside "
                f"[{args.min_size}, {args.max_size}]"
            )
        from pulumi_aws import ec2, eks

        child = pulumi.ResourceOptions(parent=self)
        tags = {**args.tags, "mlops.platform/pool": args.pool}
        template = ec2.LaunchTemplate(
            name,
            description=f"Hardened nodes of pool {args.pool}",
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",
                "http_put_response_hop_limit": args.imds_hop_limit,
                "instance_metadata_tags": "disabled",
            },
            block_device_mappings=[
                {
                    "device_name": ROOT_DEVICE,
                    "ebs": {
                        "volume_size": args.disk_size_gb,
                        "volume_type": "gp3",
                        "encrypted": "true",
                        "kms_key_id": args.kms_key_arn,
                        "delete_on_termination": "true",
                    },
                }
            ],
            monitoring={"enabled": True},
            tag_specifications=[{"resource_type": kind, "tags": tags} for kind in ("instance", "volume")],
            update_default_version=True,
            tags=tags,
            opts=child,
        )
        labels = node_labels(args.pool, args.kind, args.gpu_model, args.gpu_count, dict(args.labels))
        self.node_group = eks.NodeGroup(
            name,
            cluster_name=args.cluster_name,
            node_group_name=args.pool,
            version=args.kubernetes_version,
            node_role_arn=args.node_role_arn,
            subnet_ids=list(args.subnet_ids),
            ami_type=ami_type(args.kind, args.instance_type),
            capacity_type=CAPACITY_TYPES[args.capacity],
            instance_types=[args.instance_type],
            scaling_config={"min_size": args.min_size, "max_size": args.max_size, "desired_size": args.desired_size},
            update_config={"max_unavailable": 1},
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            labels=labels,
            taints=eks_taints(args.kind, args.taints),
            tags=tags,
            # The cluster autoscaler owns the desired size once the group exists.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["scalingConfig.desiredSize"]),
        )
        self.register_outputs({"nodeGroupName": self.node_group.node_group_name})

"""An EKS cluster and managed node group built from plain aws resources."""

import json

import pulumi
import pulumi_aws as aws


def assume(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


vpc = aws.ec2.Vpc("eks-vpc", cidr_block="10.40.0.0/16")
subnets = [
    aws.ec2.Subnet(f"eks-{i}", vpc_id=vpc.id, cidr_block=f"10.40.{i}.0/24", availability_zone=f"me-central-1{z}")
    for i, z in enumerate("ab")
]

cluster_role = aws.iam.Role("cluster-role", assume_role_policy=assume("eks.amazonaws.com"))
aws.iam.RolePolicyAttachment(
    "cluster-policy", role=cluster_role.name, policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
)

cluster = aws.eks.Cluster(
    "corpus-eks",
    role_arn=cluster_role.arn,
    version="1.31",
    vpc_config={"subnet_ids": [s.id for s in subnets], "endpoint_public_access": True},
)

node_role = aws.iam.Role("node-role", assume_role_policy=assume("ec2.amazonaws.com"))
for i, policy in enumerate(["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"]):
    aws.iam.RolePolicyAttachment(
        f"node-policy-{i}", role=node_role.name, policy_arn=f"arn:aws:iam::aws:policy/{policy}"
    )

aws.eks.NodeGroup(
    "workers",
    cluster_name=cluster.name,
    node_role_arn=node_role.arn,
    subnet_ids=[s.id for s in subnets],
    instance_types=["m6i.large"],
    scaling_config={"desired_size": 2, "min_size": 1, "max_size": 3},
)

pulumi.export("endpoint", cluster.endpoint)

"""Private-only VPC: subnets in several zones, VPC endpoints instead of internet egress, flow logs.

No internet gateway, no NAT and no public subnet: nodes reach AWS APIs (ECR, S3, STS, EC2, CloudWatch Logs)
through VPC endpoints, so nothing in the VPC can talk to the internet and no data can leave that way.
Images from outside registries must be mirrored into ECR (or served by an ECR pull-through cache).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.aws._iam import assume_role_policy, policy
from components.errors import InputError

DEFAULT_INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "ec2", "logs", "s3")
"""Interface endpoints a private EKS cluster needs: image pulls, IRSA tokens, node bootstrap, log shipping, and S3
for pods: the S3 gateway endpoint routes to S3's public prefixes (a prefix list NetworkPolicy cannot name), the
interface endpoint puts S3 inside the VPC CIDR that the pods' egress policies allow."""
PRIVATE_DNS_FOR_VPC = {"s3": {"private_dns_only_for_inbound_resolver_endpoint": False}}
"""Interface endpoints whose private DNS must answer inside the VPC too: with a gateway endpoint present, S3's
defaults to answering only inbound resolver queries, leaving pods on the gateway's public prefixes."""


@dataclass
class PrivateNetworkArgs:
    region: str
    cidr: str
    private_subnets: Sequence[str]
    """One subnet CIDR per availability zone, at least two."""
    availability_zones: Sequence[str]
    """Zones for the subnets, in order; at least as many as subnets."""
    kms_key_arn: pulumi.Input[str]
    """Key that encrypts the flow-log group."""
    account_id: pulumi.Input[str]
    cluster_name: str = ""
    """EKS cluster that will use the subnets (tags them for internal load balancers)."""
    interface_endpoints: Sequence[str] = DEFAULT_INTERFACE_ENDPOINTS
    flow_log_retention_days: int = 365
    tags: Mapping[str, str] = field(default_factory=dict)


class PrivateNetwork(pulumi.ComponentResource):
    """VPC with private subnets, per-zone route tables, S3 gateway and interface endpoints, and VPC flow logs."""

    vpc: Any
    vpc_id: pulumi.Output[str]
    private_subnet_ids: list[pulumi.Output[str]]
    endpoint_security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: PrivateNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:PrivateNetwork", name, None, opts)
        if len(args.private_subnets) < 2:
            raise InputError("PrivateNetworkArgs.private_subnets: at least two subnets (two zones) are required")
        if len(args.availability_zones) < len(args.private_subnets):
            raise InputError(
                f"PrivateNetworkArgs.availability_zones: {len(args.private_subnets)} subnets need as many zones, "
                f"got {list(args.availability_zones)}"
            )
        from pulumi_aws import cloudwatch, ec2, iam

        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.vpc = ec2.Vpc(
            name,
            cidr_block=args.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={**tags, "Name": name},
            opts=child,
        )
        self.vpc_id = self.vpc.id
        # The default security group lets members talk freely; strip every rule from it.
        ec2.DefaultSecurityGroup(
            name, vpc_id=self.vpc.id, ingress=[], egress=[], tags={**tags, "Name": f"{name}-default"}, opts=child
        )

        subnet_tags = {**tags, "kubernetes.io/role/internal-elb": "1"}
        if args.cluster_name:
            subnet_tags[f"kubernetes.io/cluster/{args.cluster_name}"] = "shared"
        self.private_subnet_ids = []
        route_table_ids = []
        for cidr, zone in zip(args.private_subnets, args.availability_zones):
            subnet = ec2.Subnet(
                f"{name}-private-{zone}",
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={**subnet_tags, "Name": f"{name}-private-{zone}"},
                opts=child,
            )
            table = ec2.RouteTable(
                f"{name}-private-{zone}",
                vpc_id=self.vpc.id,
                tags={**tags, "Name": f"{name}-private-{zone}"},
                opts=child,
            )
            ec2.RouteTableAssociation(
                f"{name}-private-{zone}", subnet_id=subnet.id, route_table_id=table.id, opts=child
            )
            self.private_subnet_ids.append(subnet.id)
            route_table_ids.append(table.id)

        endpoint_sg = ec2.SecurityGroup(
            f"{name}-endpoints",
            description="HTTPS from inside the VPC to the AWS service endpoints only",
            vpc_id=self.vpc.id,
            ingress=[
                {
                    "protocol": "tcp",
                    "from_port": 443,
                    "to_port": 443,
                    "cidr_blocks": [args.cidr],
                    "description": "HTTPS from the VPC",
                }
            ],
            egress=[],
            tags={**tags, "Name": f"{name}-endpoints"},
            opts=child,
        )
        self.endpoint_security_group_id = endpoint_sg.id
        ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=route_table_ids,
            tags={**tags, "Name": f"{name}-s3"},
            opts=child,
        )
        for service in args.interface_endpoints:
            # `s3` also has the gateway endpoint above: its interface endpoint needs a name of its own
            label = service.replace(".", "-") + ("-interface" if service == "s3" else "")
            ec2.VpcEndpoint(
                f"{name}-{label}",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{args.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                dns_options=PRIVATE_DNS_FOR_VPC.get(service),
                subnet_ids=self.private_subnet_ids,
                security_group_ids=[endpoint_sg.id],
                tags={**tags, "Name": f"{name}-{label}"},
                opts=child,
            )

        log_group = cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=f"/mlops/vpc/{name}/flow-logs",
            retention_in_days=args.flow_log_retention_days,
            kms_key_id=args.kms_key_arn,
            tags=tags,
            opts=child,
        )
        role = iam.Role(
            f"{name}-flow-logs",
            assume_role_policy=assume_role_policy("vpc-flow-logs.amazonaws.com", args.account_id),
            tags=tags,
            opts=child,
        )
        iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.id,
            policy=log_group.arn.apply(
                lambda arn: policy(
                    [
                        {
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                            "Resource": [arn, f"{arn}:*"],
                        }
                    ]
                )
            ),
            opts=child,
        )
        ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=tags,
            opts=child,
        )
        self.register_outputs({"vpcId": self.vpc_id, "privateSubnetIds": self.private_subnet_ids})

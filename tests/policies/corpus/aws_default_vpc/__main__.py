"""Security group in the default VPC found with get_vpc and get_subnets."""

import pulumi
import pulumi_aws as aws

vpc = aws.ec2.get_vpc(default=True)
subnets = aws.ec2.get_subnets(filters=[{"name": "vpc-id", "values": [vpc.id]}])

sg = aws.ec2.SecurityGroup(
    "app",
    vpc_id=vpc.id,
    ingress=[{"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": [vpc.cidr_block]}],
)

pulumi.export("subnets", subnets.ids)
pulumi.export("sg", sg.id)

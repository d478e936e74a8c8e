"""VPC with one public subnet per availability zone from get_availability_zones."""

import pulumi
import pulumi_aws as aws

zones = aws.get_availability_zones(state="available")

vpc = aws.ec2.Vpc("main", cidr_block="10.20.0.0/16", enable_dns_hostnames=True, tags={"Name": "corpus-main"})
igw = aws.ec2.InternetGateway("main-igw", vpc_id=vpc.id)

subnets = []
for i, zone in enumerate(zones.names[:3]):
    subnets.append(
        aws.ec2.Subnet(
            f"public-{i}",
            vpc_id=vpc.id,
            cidr_block=f"10.20.{i}.0/24",
            availability_zone=zone,
            map_public_ip_on_launch=True,
        )
    )

pulumi.export("subnet_ids", [s.id for s in subnets])

"""RDS PostgreSQL in a subnet group, password from random."""

import pulumi
import pulumi_aws as aws
import pulumi_random as random

vpc = aws.ec2.Vpc("db-vpc", cidr_block="10.30.0.0/16")
subnets = [
    aws.ec2.Subnet(f"db-{i}", vpc_id=vpc.id, cidr_block=f"10.30.{i}.0/24", availability_zone=f"me-central-1{z}")
    for i, z in enumerate("ab")
]
group = aws.rds.SubnetGroup("db-subnets", subnet_ids=[s.id for s in subnets])
password = random.RandomPassword("db-password", length=24, special=False)

db = aws.rds.Instance(
    "orders",
    engine="postgres",
    engine_version="16.3",
    instance_class="db.t3.micro",
    allocated_storage=20,
    db_name="orders",
    username="orders",
    password=password.result,
    db_subnet_group_name=group.name,
    skip_final_snapshot=True,
    publicly_accessible=True,
)

pulumi.export("endpoint", db.endpoint)

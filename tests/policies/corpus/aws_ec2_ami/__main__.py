"""EC2 instance with the AMI looked up through aws.ec2.get_ami."""

import pulumi
import pulumi_aws as aws

ami = aws.ec2.get_ami(
    most_recent=True,
    owners=["amazon"],
    filters=[{"name": "name", "values": ["al2023-ami-*-x86_64"]}],
)

sg = aws.ec2.SecurityGroup(
    "web-sg",
    description="web",
    ingress=[{"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"]}],
    egress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}],
)

web = aws.ec2.Instance(
    "web",
    ami=ami.id,
    instance_type="t3.micro",
    vpc_security_group_ids=[sg.id],
    associate_public_ip_address=True,
)

pulumi.export("public_ip", web.public_ip)

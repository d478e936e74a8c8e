"""Reads the network stack's VPC id through a StackReference: no engine, no state, so a clear error is expected."""

import pulumi
import pulumi_aws as aws

network = pulumi.StackReference("corpus/network/dev")
vpc_id = network.require_output("vpcId")

aws.ec2.SecurityGroup("from-network", vpc_id=vpc_id, description="uses the network stack's VPC")

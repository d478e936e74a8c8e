"""Private-only VPC: subnets in several zones, endpoints instead of internet egress, flow logs encrypted."""

from __future__ import annotations

import pytest

from components.aws.network import PrivateNetwork, PrivateNetworkArgs
from tests.conftest import of_type, one, run_mocked


def test_private_subnets_span_zones_and_assign_no_public_ips(aws):
    subnets = of_type(aws, "aws:ec2/subnet:Subnet")
    assert sorted(s.inputs["cidrBlock"] for s in subnets) == ["10.40.0.0/19", "10.40.32.0/19", "10.40.64.0/19"]
    assert len({s.inputs["availabilityZone"] for s in subnets}) == 3
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)
    assert all(s.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1" for s in subnets)


def test_no_internet_path(aws):
    types = {r.type for r in aws.resources}
    for token in ("aws:ec2/internetGateway:InternetGateway", "aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip"):
        assert token not in types
    for table in of_type(aws, "aws:ec2/routeTable:RouteTable"):
        assert not table.inputs.get("routes")


def test_s3_gateway_endpoint_serves_every_route_table(aws):
    s3 = next(e for e in of_type(aws, "aws:ec2/vpcEndpoint:VpcEndpoint") if e.inputs["vpcEndpointType"] == "Gateway")
    assert s3.inputs["serviceName"] == "com.amazonaws.me-central-1.s3"
    assert len(set(s3.inputs["routeTableIds"])) == len(of_type(aws, "aws:ec2/routeTable:RouteTable")) == 3


def test_interface_endpoints_are_private_behind_https_only_security_group(aws):
    endpoints = {
        e.inputs["serviceName"]: e
        for e in of_type(aws, "aws:ec2/vpcEndpoint:VpcEndpoint")
        if e.inputs["vpcEndpointType"] == "Interface"
    }
    for service in ("ecr.api", "ecr.dkr", "sts", "s3"):
        endpoint = endpoints[f"com.amazonaws.me-central-1.{service}"]
        assert endpoint.inputs["vpcEndpointType"] == "Interface"
        assert endpoint.inputs["privateDnsEnabled"] is True
        assert len(endpoint.inputs["subnetIds"]) == 3
    group = one(aws, "aws:ec2/securityGroup:SecurityGroup")
    assert group.inputs["ingress"] == [
        {
            "protocol": "tcp",
            "fromPort": 443,
            "toPort": 443,
            "cidrBlocks": ["10.40.0.0/16"],
            "description": "HTTPS from the VPC",
        }
    ]
    assert group.inputs["egress"] == []


def test_default_security_group_allows_nothing(aws):
    default = one(aws, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default.inputs["ingress"] == [] and default.inputs["egress"] == []


def test_flow_logs_capture_all_traffic_into_an_encrypted_log_group(aws):
    flow = one(aws, "aws:ec2/flowLog:FlowLog")
    assert flow.inputs["trafficType"] == "ALL"
    group = next(g for g in of_type(aws, "aws:cloudwatch/logGroup:LogGroup") if g.name == "network-flow-logs")
    assert flow.inputs["logDestination"] == f"arn:aws:logs:me-central-1:123456789012:log-group:{group.inputs['name']}"
    platform_key = next(k for k in of_type(aws, "aws:kms/key:Key") if k.name == "platform")
    assert group.inputs["kmsKeyId"] == platform_key.outputs["arn"]
    assert group.inputs["retentionInDays"] >= 365


@pytest.mark.parametrize(
    "subnets, zones, message",
    [
        (["10.0.0.0/24"], ["me-central-1a"], "at least two subnets"),
        (["10.0.0.0/24", "10.0.1.0/24"], ["me-central-1a"], "need as many zones"),
    ],
)
def test_network_refuses_fewer_than_two_zones(subnets, zones, message):
    args = PrivateNetworkArgs(
        region="me-central-1",
        cidr="10.0.0.0/16",
        private_subnets=subnets,
        availability_zones=zones,
        kms_key_arn="arn:aws:kms:me-central-1:1:key/k",
        account_id="1",
    )
    with pytest.raises(ValueError, match=message):
        run_mocked(lambda: PrivateNetwork("net", args))


def test_s3_interface_endpoint_answers_inside_the_vpc(aws):
    """Pods reach S3 on the interface endpoint (inside the VPC CIDR their egress policies allow), not the gateway's
    public prefixes: its private DNS answers VPC queries too."""
    s3 = next(
        e
        for e in of_type(aws, "aws:ec2/vpcEndpoint:VpcEndpoint")
        if e.inputs["vpcEndpointType"] == "Interface" and e.inputs["serviceName"].endswith(".s3")
    )
    assert s3.inputs["dnsOptions"] == {"privateDnsOnlyForInboundResolverEndpoint": False}
    names = [e.name for e in of_type(aws, "aws:ec2/vpcEndpoint:VpcEndpoint")]
    assert len(set(names)) == len(names) and s3.name == "network-s3-interface"  # a duplicate URN fails `pulumi up`
    others = [e for e in of_type(aws, "aws:ec2/vpcEndpoint:VpcEndpoint") if e is not s3]
    assert all("dnsOptions" not in e.inputs for e in others)

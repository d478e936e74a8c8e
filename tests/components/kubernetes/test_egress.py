"""Named egress endpoints: the rules are what pods need, and nothing can name every address."""

from __future__ import annotations

import pytest

from components.kubernetes.egress import EgressEndpoints, named_cidr


def test_cloud_rules_name_the_vpc_and_the_proxy():
    egress = EgressEndpoints(
        api_server_cidrs=["10.40.0.0/16"],
        private_endpoint_cidrs=["10.40.0.0/16"],
        proxy_cidr="10.60.0.4/32",
        proxy_port=3128,
    )
    assert egress.api_server() == [
        {"to": [{"ipBlock": {"cidr": "10.40.0.0/16"}}], "ports": [{"protocol": "TCP", "port": 443}]}
    ]
    assert egress.cloud_services() == [
        {"to": [{"ipBlock": {"cidr": "10.40.0.0/16"}}], "ports": [{"protocol": "TCP", "port": 443}]},
        {"to": [{"ipBlock": {"cidr": "10.60.0.4/32"}}], "ports": [{"protocol": "TCP", "port": 3128}]},
    ]


def test_onprem_rules_name_the_control_plane_and_no_cloud_services():
    egress = EgressEndpoints(api_server_cidrs=["10.10.0.11/32", "10.10.0.12"], api_server_port=6443)
    assert egress.api_server() == [
        {
            "to": [{"ipBlock": {"cidr": "10.10.0.11/32"}}, {"ipBlock": {"cidr": "10.10.0.12/32"}}],
            "ports": [{"protocol": "TCP", "port": 6443}],
        }
    ]
    assert egress.cloud_services() == [] and egress.proxy() == []


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0"])
def test_every_address_is_refused(cidr):
    with pytest.raises(ValueError, match="every address"):
        EgressEndpoints(api_server_cidrs=[cidr])
    with pytest.raises(ValueError, match="proxy_cidr: .*every address"):
        EgressEndpoints(api_server_cidrs=["10.0.0.1/32"], proxy_cidr=cidr, proxy_port=3128)


def test_bad_input_is_refused_with_the_field_named():
    with pytest.raises(ValueError, match="api_server_cidrs: name where"):
        EgressEndpoints(api_server_cidrs=[])
    with pytest.raises(ValueError, match="private_endpoint_cidrs: 'vpc' is not an IP network"):
        EgressEndpoints(api_server_cidrs=["10.0.0.1/32"], private_endpoint_cidrs=["vpc"])
    with pytest.raises(ValueError, match="proxy_cidr and proxy_port go together"):
        EgressEndpoints(api_server_cidrs=["10.0.0.1/32"], proxy_cidr="10.0.0.2/32")
    with pytest.raises(ValueError, match="api_server_port: 70000"):
        EgressEndpoints(api_server_cidrs=["10.0.0.1/32"], api_server_port=70000)
    assert named_cidr("10.40.1.7/16", "x") == "10.40.0.0/16"

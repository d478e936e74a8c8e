"""Every shipped stack enforces NetworkPolicy and lets pods out only to named endpoints: no policy allows 0.0.0.0/0,
::/0 or a rule without a destination, and the pipelines namespace reaches the API server where it really is."""

from __future__ import annotations

import pytest

from infra.config import ConfigError
from infra.targets.egress import egress_endpoints
from policies.preview.runner import preview_stack
from tests.components.kubernetes.helpers import stack_config

POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
STACKS = ("aws-uae-prod", "azure-uae-prod", "onprem-dc1")


@pytest.fixture(scope="module", params=STACKS)
def stack(request):
    return request.param, preview_stack(request.param)


def test_no_network_policy_allows_every_address(stack):
    name, result = stack
    policies = [r for r in result.resources if r.type == POLICY]
    assert len(policies) > 20, name
    for policy in policies:
        for rule in policy.inputs["spec"].get("egress", []):
            assert rule.get("to"), f"{name} {policy.name}: an egress rule without `to` allows every destination"
            for peer in rule["to"]:
                cidr = peer.get("ipBlock", {}).get("cidr")
                assert cidr is None or not cidr.endswith("/0"), f"{name} {policy.name}: egress to {cidr}"


def test_pipelines_reach_the_api_server_and_object_store_by_name(stack):
    name, result = stack
    egress = next(r for r in result.resources if r.type == POLICY and r.name == "services-kfp-egress").inputs["spec"]
    blocks = {
        (peer["ipBlock"]["cidr"], port["port"])
        for rule in egress["egress"]
        for peer in rule["to"]
        if "ipBlock" in peer
        for port in rule["ports"]
    }
    expected = {
        "aws-uae-prod": {("10.40.0.0/16", 443)},
        "azure-uae-prod": {("10.50.0.0/16", 443), ("10.60.0.4/32", 3128)},
        "onprem-dc1": {("10.10.0.11/32", 6443), ("10.10.0.12/32", 6443), ("10.10.0.13/32", 6443)},
    }[name]
    assert expected <= blocks


def test_enforcement_is_in_every_preview(stack):
    name, result = stack
    types = {r.type for r in result.resources}
    engine = {
        "aws-uae-prod": "aws:eks/addon:Addon",
        "azure-uae-prod": "azure-native:containerservice:ManagedCluster",
        "onprem-dc1": "kubernetes:operator.tigera.io/v1:Installation",
    }[name]
    assert engine in types
    if name == "azure-uae-prod":
        cluster = next(r for r in result.resources if r.type == engine)
        assert cluster.inputs["networkProfile"]["networkPolicy"] == "calico"


def test_onprem_api_server_comes_from_config_first():
    cfg = stack_config("onprem-dc1", egress={"apiServerCidrs": ["10.10.0.100/32"]})
    assert egress_endpoints(cfg).api_server_cidrs == ("10.10.0.100/32",)
    cfg = stack_config("onprem-dc1", onprem={"apiEndpoint": "https://10.10.0.200:8443"})
    endpoints = egress_endpoints(cfg)
    assert endpoints.api_server_cidrs == ("10.10.0.200/32",) and endpoints.api_server_port == 8443


def test_azure_without_a_proxy_is_refused_with_the_key_named():
    cfg = stack_config("azure-uae-prod", egress={})
    with pytest.raises(ConfigError, match="mlops:egress.proxy is required on azure"):
        egress_endpoints(cfg)


def test_bad_egress_config_is_refused_with_the_field_named():
    with pytest.raises(ConfigError, match="egress.proxy"):
        stack_config("azure-uae-prod", egress={"proxy": "http://proxy.corp:3128"})
    with pytest.raises(ConfigError, match="apiServerCidrs"):
        stack_config("onprem-dc1", egress={"apiServerCidrs": ["0.0.0.0/0"]})

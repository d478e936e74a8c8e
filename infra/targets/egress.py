"""The stack's named egress endpoints (:class:`components.kubernetes.egress.EgressEndpoints`) from its config.

- aws: the API server's private endpoint and the interface endpoints (S3, STS, ECR, ...) sit in the VPC: 443 to the
  VPC CIDR; the proxy when ``mlops:egress.proxy`` is set.
- azure: the private cluster's API server and the private endpoints (Blob, Key Vault) sit in the VNet: 443 to the
  VNet CIDR. Entra ID's token endpoint (workload identity) has no private endpoint, so ``mlops:egress.proxy`` is
  required (the AKS cluster hands it to pods as HTTPS_PROXY).
- onprem: the control-plane nodes on the API endpoint's port (``mlops:egress.apiServerCidrs``, else the
  ``onprem.apiEndpoint`` address when it is an IP, else the system pool's node addresses).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from components.kubernetes.egress import EgressEndpoints
from infra.config import PROJECT, ConfigError, OnPrem, StackConfig
from infra.targets.args import current_stack_file

KUBEADM_API_PORT = 6443


def _onprem_api_server(cfg: StackConfig) -> tuple[list[str], int]:
    endpoint = urlsplit((cfg.onprem or OnPrem()).api_endpoint or "")
    port = endpoint.port or KUBEADM_API_PORT
    if cfg.egress.api_server_cidrs:
        return list(cfg.egress.api_server_cidrs), port
    try:
        return [f"{ipaddress.IPv4Address(endpoint.hostname or '')}/32"], port
    except ValueError:
        pass
    system = [f"{n.address}/32" for p in cfg.node_pools if p.role == "system" for n in p.nodes if n.address]
    if not system:
        raise ConfigError(
            f"{current_stack_file()}: {PROJECT}:egress.apiServerCidrs is required: onprem.apiEndpoint is not an IP address "
            "and no system-pool node has an address, so nothing names where the API server runs (the control-plane "
            "nodes' addresses, e.g. [10.10.0.11/32])"
        )
    return system, port


def egress_endpoints(cfg: StackConfig) -> EgressEndpoints:
    """Where the stack's pods may go outside the pod network; ConfigError naming the key when it cannot be told."""
    proxy = cfg.egress.proxy_address
    proxy_cidr, proxy_port = (f"{proxy[0]}/32", proxy[1]) if proxy else (None, None)
    if cfg.target == "onprem":
        cidrs, port = _onprem_api_server(cfg)
        return EgressEndpoints(
            api_server_cidrs=cidrs, api_server_port=port, proxy_cidr=proxy_cidr, proxy_port=proxy_port
        )
    assert cfg.network is not None  # the schema requires it on the clouds
    if cfg.target == "azure" and proxy is None:
        raise ConfigError(
            f"{current_stack_file()}: {PROJECT}:egress.proxy is required on azure: Entra ID's token endpoint (workload "
            "identity) has no private endpoint, and no NetworkPolicy may allow 0.0.0.0/0; set the forward proxy "
            "pods reach it through, e.g. http://10.50.250.4:3128"
        )
    return EgressEndpoints(
        api_server_cidrs=[cfg.network.cidr],
        private_endpoint_cidrs=[cfg.network.cidr],
        proxy_cidr=proxy_cidr,
        proxy_port=proxy_port,
    )

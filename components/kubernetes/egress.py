"""Named egress endpoints: where pods may send traffic outside the cluster, as NetworkPolicy rules.

No NetworkPolicy of the platform allows egress to ``0.0.0.0/0`` or ``::/0``: every rule that leaves the pod network
names where it goes. :class:`EgressEndpoints` holds those places for one cluster, and its methods return the rules
the namespaces' allow-policies add next to their default deny:

- the Kubernetes API server (EKS: the private endpoint's network interfaces in the VPC; AKS: the private cluster's
  endpoint in the VNet; on-prem: the control-plane nodes behind the ``kubernetes`` Service);
- the cloud services reached over private endpoints (AWS interface endpoints for S3 and STS, Azure private
  endpoints for Blob and Key Vault), all inside the VPC/VNet on 443;
- an optional forward proxy for what has no private endpoint (Entra ID's token endpoint, a package index).

The target (``infra/targets``) fills it from the stack; this module imports nothing heavy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.errors import InputError

HTTPS_PORT = 443


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": p} for p in ports]


def named_cidr(value: str, what: str) -> str:
    """``value`` as a normalised CIDR; InputError naming ``what`` for a bad one or a default route (``/0``)."""
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise InputError(f"{what}: {value!r} is not an IP network (e.g. 10.40.0.0/16 or 10.10.0.11/32)") from None
    if network.prefixlen == 0:
        raise InputError(f"{what}: {value!r} is every address; name the endpoint's own range, never a /0")
    return str(network)


def _port(value: int, what: str) -> int:
    if not 1 <= value <= 65535:
        raise InputError(f"{what}: {value} is not a TCP port (1-65535)")
    return value


@dataclass(frozen=True)
class EgressEndpoints:
    """The places outside the pod network that platform pods may reach, each a CIDR (never a /0)."""

    api_server_cidrs: Sequence[str]
    """Where the API server's endpoints (the ``kubernetes`` Service's backends) live."""
    api_server_port: int = HTTPS_PORT
    """The port those endpoints listen on (443 on EKS/AKS; kube-apiserver's 6443 on kubeadm clusters)."""
    private_endpoint_cidrs: Sequence[str] = ()
    """Ranges holding the cloud's private/interface endpoints (the VPC/VNet); empty on-prem."""
    proxy_cidr: str | None = None
    """The forward proxy for destinations without a private endpoint; ``None``: no such egress."""
    proxy_port: int | None = None

    def __post_init__(self) -> None:
        if not self.api_server_cidrs:
            raise InputError("EgressEndpoints.api_server_cidrs: name where the API server's endpoints live")
        object.__setattr__(
            self,
            "api_server_cidrs",
            tuple(named_cidr(c, "EgressEndpoints.api_server_cidrs") for c in self.api_server_cidrs),
        )
        object.__setattr__(
            self,
            "private_endpoint_cidrs",
            tuple(named_cidr(c, "EgressEndpoints.private_endpoint_cidrs") for c in self.private_endpoint_cidrs),
        )
        _port(self.api_server_port, "EgressEndpoints.api_server_port")
        if (self.proxy_cidr is None) != (self.proxy_port is None):
            raise InputError("EgressEndpoints: proxy_cidr and proxy_port go together")
        if self.proxy_cidr is not None and self.proxy_port is not None:
            object.__setattr__(self, "proxy_cidr", named_cidr(self.proxy_cidr, "EgressEndpoints.proxy_cidr"))
            _port(self.proxy_port, "EgressEndpoints.proxy_port")

    def api_server(self) -> list[dict[str, Any]]:
        """The rule to the API server."""
        return [{"to": [{"ipBlock": {"cidr": c}} for c in self.api_server_cidrs], "ports": _tcp(self.api_server_port)}]

    def proxy(self) -> list[dict[str, Any]]:
        """The rule to the forward proxy, if the stack has one."""
        if self.proxy_cidr is None or self.proxy_port is None:
            return []
        return [{"to": [{"ipBlock": {"cidr": self.proxy_cidr}}], "ports": _tcp(self.proxy_port)}]

    def cloud_services(self) -> list[dict[str, Any]]:
        """HTTPS to the cloud's private endpoints (object storage, token service) and the proxy; none on-prem."""
        rules = [{"to": [{"ipBlock": {"cidr": c}} for c in self.private_endpoint_cidrs], "ports": _tcp(HTTPS_PORT)}]
        return (rules if self.private_endpoint_cidrs else []) + self.proxy()

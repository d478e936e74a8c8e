"""Calico as the on-prem cluster's CNI and NetworkPolicy engine, through the Tigera operator at a pinned chart.

The SSH node bootstrap (components/bootstrap) joins nodes but installs no CNI, and without an engine every
NetworkPolicy of the platform is inert. This component installs the ``tigera-operator`` chart
(:data:`components.versions.CALICO`) and the operator's ``Installation`` (Calico CNI, VXLAN overlay on the stack's
pod range, no BGP), so policy is enforced from the first pod. Calico's optional API server and flow-log services
(Goldmane, Whisker) stay off: nothing here needs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components import versions
from components.kubernetes.egress import named_cidr
from components.kubernetes.helm import pinned_release
from components.kubernetes.namespace import SecureNamespace, SecureNamespaceArgs

NAMESPACE = "tigera-operator"
INSTALLATION_API = "operator.tigera.io/v1"
CHART_VALUES = {
    "installation": {"enabled": False},  # made below, so its settings are reviewed (and gated) here
    "apiServer": {"enabled": False},
    "goldmane": {"enabled": False},
    "whisker": {"enabled": False},
}


def installation_spec(pod_cidr: str) -> dict[str, Any]:
    """The operator's ``Installation``: Calico CNI and IPAM, one VXLAN IPv4 pool over ``pod_cidr``."""
    return {
        "cni": {"type": "Calico", "ipam": {"type": "Calico"}},
        "calicoNetwork": {
            "bgp": "Disabled",
            "ipPools": [
                {
                    "name": "default-ipv4-ippool",
                    "cidr": pod_cidr,
                    "blockSize": 26,
                    "encapsulation": "VXLAN",
                    "natOutgoing": "Enabled",
                    "nodeSelector": "all()",
                }
            ],
        },
    }


@dataclass
class CalicoNetworkArgs:
    pod_security_version: str
    pod_cidr: str = "192.168.0.0/16"
    """Range pods get addresses from; must not overlap the nodes' or the Service network."""
    chart: versions.HelmChart = versions.CALICO

    def __post_init__(self) -> None:
        self.pod_cidr = named_cidr(self.pod_cidr, "CalicoNetworkArgs.pod_cidr")


class CalicoNetwork(pulumi.ComponentResource):
    """The Tigera operator (pinned chart) and the Calico ``Installation`` it reconciles."""

    ready: list[pulumi.Resource]
    """Depend on these to start pods only once the CNI and policy engine are being installed."""

    def __init__(self, name: str, args: CalicoNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:onprem:CalicoNetwork", name, None, opts)
        from pulumi_kubernetes.apiextensions import CustomResource

        child = pulumi.ResourceOptions(parent=self)
        # The operator runs on the host network (it must start before any pod network exists) and deploys
        # Calico's privileged node agents: PSA `privileged` here only; audit/warn stay `restricted`.
        namespace = SecureNamespace(
            f"{name}-ns",
            SecureNamespaceArgs(
                name=NAMESPACE, pod_security_version=args.pod_security_version, tier="system", pod_security="privileged"
            ),
            opts=child,
        )
        release = pinned_release(
            name, "calico", args.chart, namespace.name, opts=child, values=CHART_VALUES, timeout=900
        )
        installation = CustomResource(
            f"{name}-installation",
            api_version=INSTALLATION_API,
            kind="Installation",
            metadata={"name": "default"},
            spec=installation_spec(args.pod_cidr),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[release]),  # the chart brings the CRDs
        )
        self.ready = [release, installation]
        self.register_outputs({})

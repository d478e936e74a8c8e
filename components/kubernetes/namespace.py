"""A namespace that is locked down from the start: Pod Security Admission labels and default-deny network policies.

Every namespace the platform creates goes through :class:`SecureNamespace`, so no namespace exists, even for a
moment, without its pod-security level and its network isolation. Layers that need traffic (a service's ingress,
egress to the object store) add narrow allow policies next to these; nothing here opens more than DNS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi

PodSecurityLevel = Literal["restricted", "baseline", "privileged"]

PSA_PREFIX = "pod-security.kubernetes.io"
LABEL_TIER = "mlops.platform/tier"
"""Namespace label saying who runs there: ``platform`` (the platform's services), ``team`` (ML teams' work),
``system`` (cluster infrastructure such as drivers and storage). Network policies select namespaces by it."""
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""Set by the API server on every namespace (immutable); the reliable way to select one namespace."""

MESH_LABELS = {"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"}
"""Enrolment in the ambient service mesh (components/security/mesh.py): every pod's traffic is mTLS through ztunnel,
and traffic to the namespace's Services passes its waypoint proxy (named ``waypoint``), where the IdP's tokens are
checked. Every ``platform`` and ``team`` namespace carries them; ``system`` namespaces (drivers, storage, mesh
itself) do not."""
MESH_TIERS = ("platform", "team")

DNS_PORTS = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]


def pod_security_labels(enforce: PodSecurityLevel, version: str) -> dict[str, str]:
    """PSA labels: ``enforce`` at the given level, ``audit`` and ``warn`` always at ``restricted`` so any gap to the
    strictest profile is logged and shown to whoever applies the workload. ``version`` pins the policy (``v1.33``)
    so a cluster upgrade cannot change what is admitted without a reviewed change here."""
    return {
        f"{PSA_PREFIX}/enforce": enforce,
        f"{PSA_PREFIX}/enforce-version": version,
        f"{PSA_PREFIX}/audit": "restricted",
        f"{PSA_PREFIX}/audit-version": version,
        f"{PSA_PREFIX}/warn": "restricted",
        f"{PSA_PREFIX}/warn-version": version,
    }


def psa_version(kubernetes_version: str) -> str:
    """The PSA policy version for a cluster version: ``1.33`` -> ``v1.33``."""
    major_minor = ".".join(kubernetes_version.removeprefix("v").split(".")[:2])
    return f"v{major_minor}"


def namespaces_named(*names: str) -> dict[str, Any]:
    """A NetworkPolicy peer: the namespaces of these names, selected by :data:`NAMESPACE_NAME_LABEL` (sorted, so the
    policy does not change with the order the names came in)."""
    return {
        "namespaceSelector": {
            "matchExpressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": sorted(names)}]
        }
    }


def allow_same_namespace(resource_name: str, namespace: pulumi.Input[str], opts: pulumi.ResourceOptions) -> None:
    """A NetworkPolicy letting every pod of ``namespace`` reach every other one there, both ways, next to the
    namespace's default deny: for services made of parts that talk among themselves."""
    from pulumi_kubernetes.networking.v1 import NetworkPolicy

    NetworkPolicy(
        resource_name,
        metadata={"name": "allow-same-namespace", "namespace": namespace},
        spec={
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {}}]}],
            "egress": [{"to": [{"podSelector": {}}]}],
        },
        opts=opts,
    )


@dataclass
class SecureNamespaceArgs:
    name: str
    """The namespace's name in the cluster (a DNS label)."""
    pod_security_version: str
    """PSA policy version, ``v<major>.<minor>`` of the cluster (see :func:`psa_version`)."""
    tier: Literal["platform", "team", "system"] = "platform"
    """Value of the :data:`LABEL_TIER` label."""
    pod_security: PodSecurityLevel = "restricted"
    """PSA ``enforce`` level. Anything weaker than ``restricted`` is a safeguard turned off: say why at the call."""
    deny_ingress: bool = True
    """Default-deny all ingress to every pod of the namespace."""
    deny_egress: bool = True
    """Default-deny all egress from every pod of the namespace (DNS to kube-dns stays allowed)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels; they cannot override the PSA, tier or mesh labels."""


class SecureNamespace(pulumi.ComponentResource):
    """A Namespace with PSA labels, a default-deny NetworkPolicy and, when egress is denied, a DNS-egress allow."""

    name: pulumi.Output[str]
    """The namespace's name, resolved once the namespace exists (use it to order dependents after it)."""

    def __init__(self, resource_name: str, args: SecureNamespaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:kubernetes:SecureNamespace", resource_name, None, opts)
        from pulumi_kubernetes.core.v1 import Namespace
        from pulumi_kubernetes.networking.v1 import NetworkPolicy

        child = pulumi.ResourceOptions(parent=self)
        mesh = MESH_LABELS if args.tier in MESH_TIERS else {}
        labels = {
            **args.labels,
            **mesh,
            LABEL_TIER: args.tier,
            **pod_security_labels(args.pod_security, args.pod_security_version),
        }
        namespace = Namespace(resource_name, metadata={"name": args.name, "labels": labels}, opts=child)
        self.name = namespace.metadata.name

        policy_types = [t for t, on in (("Ingress", args.deny_ingress), ("Egress", args.deny_egress)) if on]
        if policy_types:
            # An empty podSelector selects every pod; listing a policy type with no rules denies all of that traffic.
            NetworkPolicy(
                f"{resource_name}-default-deny",
                metadata={"name": "default-deny", "namespace": self.name},
                spec={"podSelector": {}, "policyTypes": policy_types},
                opts=child,
            )
        if args.deny_egress:
            NetworkPolicy(
                f"{resource_name}-allow-dns",
                metadata={"name": "allow-dns-egress", "namespace": self.name},
                spec={
                    "podSelector": {},
                    "policyTypes": ["Egress"],
                    "egress": [
                        {
                            "to": [
                                {
                                    "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "kube-system"}},
                                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                                }
                            ],
                            "ports": DNS_PORTS,
                        }
                    ],
                },
                opts=child,
            )
        self.register_outputs({"name": self.name})

"""Istio in ambient mode: mutual TLS between every platform pod, and the enterprise IdP in front of the ML control
plane (KFP, the Feast feature server, model endpoints).

- Install: Istio's Helm charts ``base`` (CRDs), ``istiod``, ``cni`` and ``ztunnel`` at the version pinned in
  :mod:`components.versions`, plus the Gateway API CRDs waypoints are made of, in ``istio-system``.
- mTLS: a mesh-wide ``PeerAuthentication`` in the root namespace with mode ``STRICT``: an enrolled pod accepts only
  HBONE (mTLS, port 15008) from workloads with a mesh identity. Namespaces enrol themselves by label
  (:data:`components.kubernetes.namespace.MESH_LABELS`: every platform and team namespace); here each enrolled
  namespace gets its waypoint proxy and a NetworkPolicy admitting the mesh's own traffic next to its default deny.
  Ports API-server webhooks call (plaintext, from outside the mesh) are the only exceptions, each named with its
  workload (:class:`WebhookPort`), never a namespace or the mesh.
- Authentication: for each :class:`ProtectedService`, a ``RequestAuthentication`` (the IdP's issuer, the
  platform's audience; keys from the issuer's OIDC discovery) and an ``AuthorizationPolicy`` on its waypoint: a
  request is allowed when it carries a valid IdP token, or when it comes from one of the service's named in-mesh
  callers (SPIFFE identity of a ServiceAccount). Anything else gets 403; an invalid token gets 401.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components import versions
from components.errors import InputError
from components.kubernetes.helm import pinned_release
from components.kubernetes.namespace import (
    MESH_LABELS,
    SecureNamespace,
    SecureNamespaceArgs,
    allow_same_namespace,
    namespaces_named,
)

NAMESPACE = "istio-system"
"""Istio's control plane, node agents and the mesh's root namespace (mesh-wide policies live here)."""
WAYPOINT = MESH_LABELS["istio.io/use-waypoint"]
WAYPOINT_CLASS = "istio-waypoint"
HBONE_PORT = 15008
"""ztunnel's mTLS tunnel port: with the mesh on, all pod-to-pod traffic between enrolled pods arrives here."""
XDS_PORT = 15012
"""istiod's xDS/CA port (ztunnel, the CNI agent and waypoints fetch configuration and certificates)."""
ISTIOD_WEBHOOK_PORT = 15017
PROBE_SOURCE = "169.254.7.127/32"
"""ztunnel SNATs kubelet's health probes of enrolled pods to this link-local address (Istio's documented NetworkPolicy
exception for ambient)."""
SECURITY_API = "security.istio.io/v1"
GATEWAY_API = "gateway.networking.k8s.io/v1"


def principal(namespace: str, service_account: str, trust_domain: str = "cluster.local") -> str:
    """The SPIFFE identity Istio gives a ServiceAccount's pods (what ``principals`` in a policy match)."""
    return f"{trust_domain}/ns/{namespace}/sa/{service_account}"


@dataclass(frozen=True)
class ProtectedService:
    """A control-plane service that only the IdP's users and named in-mesh callers may call."""

    namespace: str
    services: Sequence[str]
    """Its Services (the waypoint policy targets them); empty: every Service of the namespace (model endpoints,
    whose Services KServe makes per InferenceService)."""
    callers: Sequence[str]
    """SPIFFE identities (:func:`principal`) that may call it without a user token: machines that legitimately do."""

    def __post_init__(self) -> None:
        for caller in self.callers:
            if "*" in caller or "/sa/" not in caller:
                raise InputError(
                    f"ProtectedService {self.namespace}: caller {caller!r} must be one ServiceAccount's identity "
                    "(<trust domain>/ns/<namespace>/sa/<name>), never a wildcard"
                )


@dataclass(frozen=True)
class WebhookPort:
    """A port of one workload that the Kubernetes API server calls (an admission webhook): the API server is not in
    the mesh, so this port alone accepts plaintext (the webhook serves its own TLS)."""

    namespace: str
    name: str
    selector: Mapping[str, str]
    """The workload's pod labels (a PeerAuthentication with port exceptions must select a workload)."""
    port: int

    def __post_init__(self) -> None:
        if not self.selector:
            raise InputError(f"WebhookPort {self.namespace}/{self.name}: select the webhook's pods (labels)")


@dataclass
class ServiceMeshArgs:
    namespaces: Mapping[str, pulumi.Input[str]]
    """Enrolled namespaces (name -> name output, so their objects wait for them): every platform and team namespace."""
    extra_namespaces: Sequence[str]
    """Enrolled namespaces an upstream install makes (Knative's): waypoints and NetworkPolicies for them too."""
    oidc_issuer: str
    """The IdP's issuer URL as it appears in its tokens' ``iss`` (keys come from its OIDC discovery document)."""
    oidc_audiences: Sequence[str]
    """Accepted ``aud`` values: the platform's client id."""
    protected: Sequence[ProtectedService]
    pod_security_version: str
    api_server_egress: Sequence[Mapping[str, Any]]
    """The NetworkPolicy egress rules that reach the API server (the target's named endpoints, never 0.0.0.0/0)."""
    webhook_ports: Sequence[WebhookPort] = ()
    charts: Sequence[versions.HelmChart] = (versions.ISTIO_BASE, versions.ISTIOD, versions.ISTIO_CNI, versions.ZTUNNEL)
    gateway_api_crds: versions.ReleaseAsset = versions.GATEWAY_API_CRDS
    istiod_values: Mapping[str, Any] = field(default_factory=dict)
    """Extra istiod chart values (merged over ``profile: ambient``)."""

    def __post_init__(self) -> None:
        if not self.oidc_issuer.startswith("https://"):
            raise InputError(f"ServiceMeshArgs.oidc_issuer must be an https:// URL, got {self.oidc_issuer!r}")
        if not self.oidc_audiences or not all(self.oidc_audiences):
            raise InputError("ServiceMeshArgs.oidc_audiences: name the platform's client id (the tokens' aud)")
        enrolled = {*self.namespaces, *self.extra_namespaces}
        for item in (*self.protected, *self.webhook_ports):
            if item.namespace not in enrolled:
                raise InputError(
                    f"ServiceMeshArgs: {item.namespace!r} is not an enrolled namespace ({', '.join(sorted(enrolled))})"
                )


def authorization_rules(issuer: str, callers: Sequence[str]) -> list[dict[str, Any]]:
    """ALLOW rules: a request with a valid token of ``issuer`` (any subject), or one from a named caller."""
    rules: list[dict[str, Any]] = [{"from": [{"source": {"requestPrincipals": [f"{issuer}/*"]}}]}]
    if callers:
        rules.append({"from": [{"source": {"principals": sorted(callers)}}]})
    return rules


def mesh_network_policy(enrolled: Sequence[str]) -> dict[str, Any]:
    """NetworkPolicy spec for an enrolled namespace: HBONE in from and out to the enrolled namespaces, kubelet probes
    (SNATed by ztunnel), and the namespace's waypoint to istiod. The services' own port-level policies keep
    governing traffic from outside the mesh; inside it, the mesh's AuthorizationPolicies decide."""
    return {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {"from": [namespaces_named(*enrolled)], "ports": [{"protocol": "TCP", "port": HBONE_PORT}]},
            {"from": [{"ipBlock": {"cidr": PROBE_SOURCE}}]},
        ],
        "egress": [
            {"to": [namespaces_named(*enrolled)], "ports": [{"protocol": "TCP", "port": HBONE_PORT}]},
            {"to": [namespaces_named(NAMESPACE)], "ports": [{"protocol": "TCP", "port": XDS_PORT}]},
        ],
    }


class ServiceMesh(pulumi.ComponentResource):
    """Pinned Istio ambient, STRICT mTLS mesh-wide, a waypoint per enrolled namespace, the IdP in front of the ML
    control plane."""

    def __init__(self, name: str, args: ServiceMeshArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:security:ServiceMesh", name, None, opts)
        from pulumi_kubernetes.apiextensions import CustomResource
        from pulumi_kubernetes.networking.v1 import NetworkPolicy
        from pulumi_kubernetes.yaml.v2 import ConfigFile

        child = pulumi.ResourceOptions(parent=self)
        # The CNI agent and ztunnel need host paths and NET_ADMIN to redirect pods' traffic: PSA privileged here only,
        # restricted still audited and warned.
        system = SecureNamespace(
            f"{name}-ns",
            SecureNamespaceArgs(
                name=NAMESPACE, pod_security_version=args.pod_security_version, tier="system", pod_security="privileged"
            ),
            opts=child,
        )
        enrolled = sorted({*args.namespaces, *args.extra_namespaces})
        self._control_plane_network(name, system.name, enrolled, args.api_server_egress, NetworkPolicy, child)

        gateway_crds = ConfigFile(f"{name}-gateway-api-crds", file=args.gateway_api_crds.url, opts=child)
        values = {
            "base": {},
            "istiod": {"profile": "ambient", **args.istiod_values},
            "cni": {"profile": "ambient"},
            "ztunnel": {},
        }
        previous: list[pulumi.Resource] = [system, gateway_crds]
        releases: dict[str, pulumi.Resource] = {}
        for chart in args.charts:
            release_name = chart.name if chart.name != "base" else "istio-base"
            releases[chart.name] = pinned_release(
                f"{name}-{chart.name}",
                release_name,
                chart,
                system.name,
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(previous)),
                values=values.get(chart.name, {}),
            )
            previous = [releases[chart.name]]
        installed = pulumi.ResourceOptions(parent=self, depends_on=[gateway_crds, *releases.values()])

        CustomResource(
            f"{name}-strict-mtls",
            api_version=SECURITY_API,
            kind="PeerAuthentication",
            metadata={"name": "default", "namespace": NAMESPACE},
            spec={"mtls": {"mode": "STRICT"}},
            opts=installed,
        )
        for hook in args.webhook_ports:
            CustomResource(
                f"{name}-webhook-{hook.namespace}-{hook.name}",
                api_version=SECURITY_API,
                kind="PeerAuthentication",
                metadata={
                    "name": f"{hook.name}-webhook",
                    "namespace": args.namespaces.get(hook.namespace, hook.namespace),
                },
                spec={
                    "selector": {"matchLabels": dict(hook.selector)},
                    "mtls": {"mode": "STRICT"},
                    "portLevelMtls": {str(hook.port): {"mode": "PERMISSIVE"}},
                },
                opts=installed,
            )

        namespace_inputs = {n: args.namespaces.get(n, n) for n in enrolled}
        for ns in enrolled:
            NetworkPolicy(
                f"{name}-allow-mesh-{ns}",
                metadata={"name": "allow-ambient-mesh", "namespace": namespace_inputs[ns]},
                spec=mesh_network_policy(enrolled),
                opts=child,
            )
            CustomResource(
                f"{name}-waypoint-{ns}",
                api_version=GATEWAY_API,
                kind="Gateway",
                metadata={
                    "name": WAYPOINT,
                    "namespace": namespace_inputs[ns],
                    "labels": {"istio.io/waypoint-for": "service"},
                },
                spec={
                    "gatewayClassName": WAYPOINT_CLASS,
                    "listeners": [{"name": "mesh", "port": HBONE_PORT, "protocol": "HBONE"}],
                },
                opts=installed,
            )

        for service in args.protected:
            targets = (
                [{"kind": "Service", "group": "", "name": s} for s in service.services]
                if service.services
                else [{"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": WAYPOINT}]
            )
            key = f"{service.namespace}-{service.services[0] if service.services else WAYPOINT}"
            CustomResource(
                f"{name}-jwt-{key}",
                api_version=SECURITY_API,
                kind="RequestAuthentication",
                metadata={"name": "idp-jwt", "namespace": namespace_inputs[service.namespace]},
                spec={
                    "targetRefs": targets,
                    "jwtRules": [
                        {
                            "issuer": args.oidc_issuer,
                            "audiences": list(args.oidc_audiences),
                            "forwardOriginalToken": True,
                        }
                    ],
                },
                opts=installed,
            )
            CustomResource(
                f"{name}-authz-{key}",
                api_version=SECURITY_API,
                kind="AuthorizationPolicy",
                metadata={"name": "idp-or-named-callers", "namespace": namespace_inputs[service.namespace]},
                spec={
                    "targetRefs": targets,
                    "action": "ALLOW",
                    "rules": authorization_rules(args.oidc_issuer, service.callers),
                },
                opts=installed,
            )
        self.register_outputs({"version": args.charts[0].version, "enrolled": enrolled})

    @staticmethod
    def _control_plane_network(
        name: str,
        ns: pulumi.Input[str],
        enrolled: Sequence[str],
        api_server_egress: Sequence[Mapping[str, Any]],
        policy: Any,
        opts: pulumi.ResourceOptions,
    ) -> None:
        """istio-system next to its default deny: its parts among themselves, istiod's xDS from the enrolled
        namespaces' waypoints, its webhook from the API server, and the API server."""
        allow_same_namespace(f"{name}-same-namespace", ns, opts)
        policy(
            f"{name}-istiod-ingress",
            metadata={"name": "allow-istiod-clients", "namespace": ns},
            spec={
                "podSelector": {"matchLabels": {"app": "istiod"}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"from": [namespaces_named(*enrolled)], "ports": [{"protocol": "TCP", "port": XDS_PORT}]},
                    # the API server (admission webhooks) is outside the pod network: no narrower peer exists
                    {"ports": [{"protocol": "TCP", "port": ISTIOD_WEBHOOK_PORT}]},
                ],
            },
            opts=opts,
        )
        policy(
            f"{name}-api-server-egress",
            metadata={"name": "allow-api-server-egress", "namespace": ns},
            spec={
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [dict(rule) for rule in api_server_egress],
            },
            opts=opts,
        )

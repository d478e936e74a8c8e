"""Shared reading of the service mesh (Istio ambient) for the checks on mTLS, enrolment and IdP authentication;
defines (registers) no check.

What the platform requires is copied from the project (Checkov cannot import it; tests keep them equal):
the mesh's root namespace and charts (``components/security/mesh.py``, ``components/versions.py``), the enrolment
label (``components/kubernetes/namespace.py``) and the services behind the IdP (``infra/program.py``).
"""

from __future__ import annotations

from typing import Any

from _mlops_values import get_path

ROOT_NAMESPACE = "istio-system"
MESH_CHARTS = ("base", "istiod", "cni", "ztunnel")
DATAPLANE_LABEL = "istio.io/dataplane-mode"
TIER_LABEL = "mlops.platform/tier"
ENROLLED_TIERS = ("platform", "team")
WAYPOINT = "waypoint"
PROTECTED_SERVICES: dict[str, tuple[str, ...]] = {
    "kubeflow": ("ml-pipeline", "ml-pipeline-ui"),
    "feature-store": ("feast-feature-server",),
    "ml-serving": (),
}
"""Namespace -> Services that only IdP tokens and named callers may reach; () = every Service (the waypoint)."""
WEAK_MODES = ("PERMISSIVE", "DISABLE")


def mtls_mode(spec: Any) -> Any:
    return get_path(spec, "mtls", "mode")


def is_root_strict(obj: dict[str, Any]) -> bool:
    """The mesh-wide PeerAuthentication: in the root namespace, no selector, mode STRICT."""
    spec = obj.get("spec") or {}
    return (
        obj.get("namespace") == ROOT_NAMESPACE
        and not spec.get("selector")
        and mtls_mode(spec) == "STRICT"
        and not spec.get("portLevelMtls")
    )


def targets(spec: Any) -> set[tuple[str, str]]:
    """(kind, name) of a policy's targetRefs."""
    refs = get_path(spec, "targetRefs") or []
    return {(r.get("kind"), r.get("name")) for r in refs if isinstance(r, dict)}


def wanted_targets(namespace: str) -> set[tuple[str, str]]:
    services = PROTECTED_SERVICES[namespace]
    return {("Service", s) for s in services} if services else {("Gateway", WAYPOINT)}


def rule_is_authenticated(rule: Any) -> bool:
    """An ALLOW rule that admits only IdP tokens or named identities: every source names requestPrincipals or
    principals, none of them a bare wildcard, and nothing else widens it (no namespaces/ipBlocks-only sources)."""
    sources = [f.get("source") for f in (get_path(rule, "from") or []) if isinstance(f, dict)]
    if not sources:
        return False
    for source in sources:
        if not isinstance(source, dict):
            return False
        request = source.get("requestPrincipals") or []
        peers = source.get("principals") or []
        if not (request or peers) or set(source) - {"requestPrincipals", "principals"}:
            return False
        if any(not isinstance(p, str) or p in ("*", "") or p.startswith("*") for p in [*request, *peers]):
            return False
        if any("/sa/" not in p or "*" in p for p in peers):
            return False
    return True

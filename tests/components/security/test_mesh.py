"""The service mesh on each stack: pinned Istio ambient, STRICT mTLS, enrolled namespaces with waypoints and the
mesh's NetworkPolicy allowances, and the IdP in front of KFP, the feature server and the model endpoints."""

from __future__ import annotations

import pytest

from components import versions
from components.kubernetes.namespace import MESH_LABELS
from components.security.mesh import (
    HBONE_PORT,
    PROBE_SOURCE,
    ProtectedService,
    ServiceMeshArgs,
    WebhookPort,
    principal,
)
from policies.preview.model import PreviewResult
from policies.preview.runner import preview_stack
from tests.conftest import of_type

PEER = "kubernetes:security.istio.io/v1:PeerAuthentication"
REQUEST = "kubernetes:security.istio.io/v1:RequestAuthentication"
AUTHZ = "kubernetes:security.istio.io/v1:AuthorizationPolicy"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
RELEASE = "kubernetes:helm.sh/v3:Release"
ENROLLED = {
    "mlops-system",
    "ml-pipelines",
    "ml-serving",
    "feature-store",
    "ml-workspace",
    "kubeflow",
    "knative-serving",
    "kourier-system",
}
EXPECTED = {PEER: 4, REQUEST: 4, AUTHZ: 4, GATEWAY: 8}
"""Per stack (all three run KServe Serverless): the STRICT root policy and three webhook-port exceptions; KFP,
feature server, serving waypoint and Kourier protected; a waypoint per enrolled namespace."""


@pytest.fixture(scope="module", params=["aws-uae-prod", "azure-uae-prod", "onprem-dc1"])
def stack(request) -> PreviewResult:
    return preview_stack(request.param)


def mesh(result: PreviewResult) -> list:
    return [r for r in result.resources if "mlops:security:ServiceMesh" in r.urn and r.custom]


def test_mesh_resources_in_every_stack_preview(stack):
    counts = {t: len([r for r in mesh(stack) if r.type == t]) for t in EXPECTED}
    assert counts == EXPECTED


def test_istio_charts_are_pinned_from_the_official_repository(stack):
    charts = {r.inputs["chart"]: r.inputs for r in mesh(stack) if r.type == RELEASE}
    assert set(charts) == {"base", "istiod", "cni", "ztunnel"}
    for chart in charts.values():
        assert chart["version"] == versions.ISTIO_VERSION
        assert chart["repositoryOpts"]["repo"] == versions.ISTIO_REPOSITORY
    assert charts["istiod"]["values"]["profile"] == charts["cni"]["values"]["profile"] == "ambient"


def test_mesh_wide_mtls_is_strict_and_exceptions_are_single_webhook_ports(stack):
    peers = {r.inputs["metadata"]["name"]: r.inputs for r in mesh(stack) if r.type == PEER}
    assert peers.pop("default") == {
        "apiVersion": "security.istio.io/v1",
        "kind": "PeerAuthentication",
        "metadata": {"name": "default", "namespace": "istio-system"},
        "spec": {"mtls": {"mode": "STRICT"}},
    }
    for peer in peers.values():
        spec = peer["spec"]
        assert spec["selector"]["matchLabels"] and spec["mtls"]["mode"] == "STRICT"
        assert list(spec["portLevelMtls"].values()) == [{"mode": "PERMISSIVE"}]


def test_platform_and_team_namespaces_are_enrolled_with_a_waypoint(stack):
    namespaces = {
        r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"]
        for r in of_type(stack, "kubernetes:core/v1:Namespace")
    }
    for name, labels in namespaces.items():
        tier = labels["mlops.platform/tier"]
        assert (labels.get("istio.io/dataplane-mode") == "ambient") == (tier in ("platform", "team")), name
    waypoints = {r.inputs["metadata"]["namespace"] for r in mesh(stack) if r.type == GATEWAY}
    assert waypoints == ENROLLED
    assert {n for n, labels in namespaces.items() if labels.items() >= MESH_LABELS.items()} <= ENROLLED


def test_enrolled_namespaces_admit_hbone_and_probes_next_to_default_deny(stack):
    policies = [
        r
        for r in mesh(stack)
        if r.type == "kubernetes:networking.k8s.io/v1:NetworkPolicy"
        and r.inputs["metadata"]["name"] == "allow-ambient-mesh"
    ]
    assert {p.inputs["metadata"]["namespace"] for p in policies} == ENROLLED
    spec = policies[0].inputs["spec"]
    assert spec["ingress"][0]["ports"] == [{"protocol": "TCP", "port": HBONE_PORT}]
    assert spec["ingress"][1] == {"from": [{"ipBlock": {"cidr": PROBE_SOURCE}}]}
    assert spec["egress"][0]["ports"] == [{"protocol": "TCP", "port": HBONE_PORT}]


def test_kfp_feature_server_and_models_require_the_idp_or_named_callers(stack):

    requests = {r.inputs["metadata"]["namespace"]: r.inputs["spec"] for r in mesh(stack) if r.type == REQUEST}
    policies = {r.inputs["metadata"]["namespace"]: r.inputs["spec"] for r in mesh(stack) if r.type == AUTHZ}
    assert set(requests) == set(policies) == {"kubeflow", "feature-store", "ml-serving", "kourier-system"}
    runner = principal("kubeflow", "pipeline-runner")
    for namespace, spec in policies.items():
        (jwt,) = requests[namespace]["jwtRules"]
        assert jwt["issuer"].startswith("https://") and jwt["audiences"]
        assert requests[namespace]["targetRefs"] == spec["targetRefs"]
        assert spec["action"] == "ALLOW"
        assert spec["rules"][0] == {"from": [{"source": {"requestPrincipals": [f"{jwt['issuer']}/*"]}}]}
        callers = spec["rules"][1]["from"][0]["source"]["principals"]
        assert runner in callers and all("*" not in c for c in callers)
    assert {t["name"] for t in policies["kubeflow"]["targetRefs"]} == {"ml-pipeline", "ml-pipeline-ui"}
    assert policies["feature-store"]["targetRefs"] == [{"kind": "Service", "group": "", "name": "feast-feature-server"}]
    assert policies["ml-serving"]["targetRefs"][0]["kind"] == "Gateway"
    assert (
        principal("knative-serving", "activator")
        in policies["ml-serving"]["rules"][1]["from"][0]["source"]["principals"]
    )


def test_checks_copy_of_the_protected_services_matches_the_program(stack):
    import importlib.util
    import sys
    from pathlib import Path

    checks = Path(__file__).resolve().parents[3] / "policies" / "checks"
    sys.path.insert(0, str(checks))
    try:
        spec = importlib.util.spec_from_file_location("_mlops_mesh", checks / "_mlops_mesh.py")
        copied = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(copied)
    finally:
        sys.path.remove(str(checks))
    policies = {r.inputs["metadata"]["namespace"]: r.inputs["spec"] for r in mesh(stack) if r.type == AUTHZ}
    for namespace, services in copied.PROTECTED_SERVICES.items():
        names = {t["name"] for t in policies[namespace]["targetRefs"] if t["kind"] == "Service"}
        assert names == set(services)
    assert copied.MESH_CHARTS == tuple(
        c.name for c in (versions.ISTIO_BASE, versions.ISTIOD, versions.ISTIO_CNI, versions.ZTUNNEL)
    )
    assert copied.DATAPLANE_LABEL in MESH_LABELS


def _args(**overrides) -> ServiceMeshArgs:
    values = {
        "namespaces": {"feature-store": "feature-store"},
        "extra_namespaces": [],
        "oidc_issuer": "https://sso.example/realms/corp",
        "oidc_audiences": ["mlops-platform"],
        "protected": [],
        "pod_security_version": "v1.33",
        "api_server_egress": [],
    }
    values.update(overrides)
    return ServiceMeshArgs(**values)


def test_bad_arguments_are_refused_with_the_field_named():
    with pytest.raises(ValueError, match="oidc_issuer must be an https"):
        _args(oidc_issuer="http://sso")
    with pytest.raises(ValueError, match="oidc_audiences"):
        _args(oidc_audiences=[])
    with pytest.raises(ValueError, match="'kubeflow' is not an enrolled namespace"):
        _args(protected=[ProtectedService("kubeflow", ["ml-pipeline"], [])])
    with pytest.raises(ValueError, match="never a wildcard"):
        ProtectedService("feature-store", [], ["cluster.local/ns/kubeflow/sa/*"])
    with pytest.raises(ValueError, match="select the webhook's pods"):
        WebhookPort("kubeflow", "cache-server", {}, 8443)

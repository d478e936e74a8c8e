"""Knative Serving + Kourier under mocks: upstream's release manifests at pinned tags, applied in order before KServe,
internal only (the gateway transform), restricted pod defaults; Serverless without Knative is refused."""

from __future__ import annotations

import re

import pulumi
import pytest

from components import versions
from components.services import knative
from tests.components.services.conftest import ServicesPreview

CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile"
RELEASE = "kubernetes:helm.sh/v3:Release"


def test_knative_is_upstreams_release_manifests_at_pinned_tags(any_stack: ServicesPreview) -> None:
    files = {r.name: r.inputs["file"] for r in any_stack.of_type(CONFIG_FILE) if r.name.startswith("services-knative")}
    github = "https://github.com/knative"
    assert files == {
        "services-knative-crds": f"{github}/serving/releases/download/knative-v1.15.2/serving-crds.yaml",
        "services-knative-core": f"{github}/serving/releases/download/knative-v1.15.2/serving-core.yaml",
        "services-knative-kourier": f"{github}/net-kourier/releases/download/knative-v1.15.1/kourier.yaml",
    }
    for asset in versions.RELEASE_ASSETS:
        assert re.fullmatch(r"(knative-)?v\d+\.\d+\.\d+", asset.tag), asset  # exact tags (Gateway API's: vX.Y.Z)
    # Kourier is the networking layer of the same Knative minor
    assert versions.KNATIVE_KOURIER_VERSION.rsplit(".", 1)[0] == versions.KNATIVE_SERVING_VERSION.rsplit(".", 1)[0]


def test_crds_then_core_then_kourier_then_kserve(any_stack: ServicesPreview) -> None:
    files = {r.name: r for r in any_stack.of_type(CONFIG_FILE)}
    crds, core, kourier = (files[f"services-knative-{n}"] for n in ("crds", "core", "kourier"))
    assert crds.urn in core.dependencies and core.urn in kourier.dependencies
    controller = any_stack.one(RELEASE, "services-kserve")
    assert {crds.urn, core.urn, kourier.urn} <= set(controller.dependencies)
    assert controller.inputs["values"]["kserve"]["controller"] == {
        "deploymentMode": "Serverless",
        "gateway": {"disableIstioVirtualHost": True},  # Kourier routes, not Istio
    }
    owner = any_stack.one("mlops:services:KnativeServing", "services-knative")
    assert all(r.parent == owner.urn for r in (crds, core, kourier))


def test_knative_and_kourier_may_reach_the_model_servers(any_stack: ServicesPreview) -> None:
    policy = any_stack.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "services-kserve-inference-clients")
    [rule] = policy.inputs["spec"]["ingress"]
    allowed = rule["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"]
    assert {"knative-serving", "kourier-system", "ml-pipelines"} <= set(allowed)


def _transform(props: dict, exposure: knative.Exposure = "cluster"):
    type_ = f"kubernetes:core/v1:{props['kind']}"
    args = pulumi.ResourceTransformArgs(True, type_, "x", props, pulumi.ResourceOptions())
    return knative.internal_only(exposure, "v1.33")(args)


KOURIER_SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {
        "name": "kourier",
        "namespace": "kourier-system",
        "labels": {"networking.knative.dev/ingress-provider": "kourier"},
    },
    "spec": {
        "type": "LoadBalancer",
        "externalTrafficPolicy": "Local",
        "selector": {"app": "3scale-kourier-gateway"},
        "ports": [{"name": "http2", "port": 80, "targetPort": 8080}],
    },
}


def test_kourier_gateway_never_gets_a_public_load_balancer() -> None:
    private = _transform(KOURIER_SERVICE).props
    assert private["spec"]["type"] == "ClusterIP" and "externalTrafficPolicy" not in private["spec"]
    assert private["spec"]["selector"] == KOURIER_SERVICE["spec"]["selector"]
    internal = _transform(KOURIER_SERVICE, "internal-load-balancer").props
    assert internal["spec"]["type"] == "LoadBalancer"
    assert internal["metadata"]["annotations"] == knative.INTERNAL_LB_ANNOTATIONS
    assert set(knative.INTERNAL_LB_ANNOTATIONS.values()) <= {"internal", "true"}
    with pytest.raises(ValueError, match="gateway_exposure"):
        knative.internal_only("public")  # type: ignore[arg-type]


def test_knative_uses_kourier_with_restricted_pod_defaults_and_labels_its_namespaces() -> None:
    network = _transform(
        {
            "kind": "ConfigMap",
            "metadata": {"name": "config-network", "namespace": "knative-serving"},
            "data": {"_example": "..."},
        }
    ).props
    assert network["data"]["ingress-class"] == "kourier.ingress.networking.knative.dev"
    features = _transform(
        {"kind": "ConfigMap", "metadata": {"name": "config-features", "namespace": "knative-serving"}}
    )
    assert features.props["data"] == {"secure-pod-defaults": "enabled"}  # queue-proxy passes PSA restricted
    ns = _transform({"kind": "Namespace", "metadata": {"name": "knative-serving", "labels": {"app": "x"}}}).props
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/audit"] == "restricted"
    assert ns["metadata"]["labels"]["app"] == "x"
    other = {
        "kind": "Service",
        "metadata": {"name": "kourier-internal", "namespace": "kourier-system"},
        "spec": {"type": "ClusterIP"},
    }
    assert _transform(other) is None


def test_raw_deployment_installs_no_knative_and_serverless_without_it_is_refused(mocked) -> None:
    from components.services.identity import IdentityBinding
    from components.services.kserve import KServe, KServeArgs

    def program(mode):
        def run():
            KServe(
                "kserve",
                KServeArgs(
                    serving_namespace="ml-serving",
                    model_identity=IdentityBinding(),
                    deployer_namespace="kubeflow",
                    deployer_service_account="pipeline-runner",
                    pod_security_version="v1.33",
                    client_namespaces=["ml-pipelines"],
                    egress=[],
                    deployment_mode=mode,
                ),
            )

        return run

    raw = mocked(program("RawDeployment"))
    assert not [r for r in raw.resources if r.type == CONFIG_FILE]
    [controller] = [r for r in raw.resources if r.type == RELEASE and r.name == "kserve"]
    assert controller.inputs["values"]["kserve"]["controller"] == {"deploymentMode": "RawDeployment"}
    with pytest.raises(Exception, match="needs Knative Serving"):
        mocked(program("Serverless"))


def test_the_deploy_step_may_probe_the_model_servers(any_stack: ServicesPreview) -> None:
    policies = [
        r.inputs
        for r in any_stack.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if r.inputs["metadata"]["namespace"] == "kubeflow" and "Egress" in r.inputs["spec"]["policyTypes"]
    ]
    rules = [rule for p in policies for rule in p["spec"].get("egress", [])]

    def reaches(namespace: str, port: int) -> bool:
        return any(
            namespace in peer.get("namespaceSelector", {}).get("matchExpressions", [{}])[0].get("values", [])
            and {"protocol": "TCP", "port": port} in rule.get("ports", [])
            for rule in rules
            for peer in rule.get("to", [])
        )

    assert reaches("kourier-system", knative.KOURIER_INTERNAL_PORT) and reaches("ml-serving", 8080)

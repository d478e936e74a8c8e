"""The feature server on every stack: restricted pod security, requests and limits, probes, HPA and PDB, a
ClusterIP Service, and network policies that admit the ML namespaces only."""

from __future__ import annotations

from components import versions
from components.services.feature_server import NAME, PORT
from tests.components.services.conftest import ServicesPreview

ML_NAMESPACES = {"ml-pipelines", "ml-serving", "feature-store", "kubeflow", "ml-workspace"}


def deployment(preview: ServicesPreview) -> dict:
    return preview.one("kubernetes:apps/v1:Deployment", "services-feast-server").inputs


def test_pod_runs_restricted(any_stack: ServicesPreview) -> None:
    pod = deployment(any_stack)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    [container] = pod["containers"]
    sc = container["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False and sc["privileged"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    tmp = next(v for v in pod["volumes"] if v["name"] == "tmp")
    assert "emptyDir" in tmp and {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]


def test_pinned_image_resources_and_probes(any_stack: ServicesPreview) -> None:
    [container] = deployment(any_stack)["spec"]["template"]["spec"]["containers"]
    assert container["image"] == versions.FEAST_FEATURE_SERVER_IMAGE.reference
    assert set(container["resources"]) == {"requests", "limits"}
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/health"
    config = next(v for v in deployment(any_stack)["spec"]["template"]["spec"]["volumes"] if v["name"] == "config")
    assert config["secret"]["secretName"] == "feast-feature-store"


def test_scaling_and_disruption_budget(any_stack: ServicesPreview) -> None:
    hpa = any_stack.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "services-feast-server").inputs["spec"]
    assert hpa["minReplicas"] >= 2 and hpa["maxReplicas"] >= hpa["minReplicas"]
    assert hpa["scaleTargetRef"]["name"] == NAME
    pdb = any_stack.one("kubernetes:policy/v1:PodDisruptionBudget", "services-feast-server").inputs["spec"]
    assert pdb["minAvailable"] == 1


def test_service_is_cluster_internal(any_stack: ServicesPreview) -> None:
    service = any_stack.one("kubernetes:core/v1:Service", "services-feast-server").inputs["spec"]
    assert service["type"] == "ClusterIP"
    assert any_stack.result.outputs["feature_server_endpoint"] == (
        f"http://{NAME}.feature-store.svc.cluster.local:{PORT}"
    )
    for svc in any_stack.of_type("kubernetes:core/v1:Service"):
        assert svc.inputs.get("spec", {}).get("type") != "LoadBalancer", svc.name


def test_network_policy_admits_only_the_ml_namespaces(any_stack: ServicesPreview) -> None:
    policy = any_stack.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "services-feast-server-ingress").inputs
    [rule] = policy["spec"]["ingress"]
    [peer] = rule["from"]
    [expression] = peer["namespaceSelector"]["matchExpressions"]
    assert expression["key"] == "kubernetes.io/metadata.name" and expression["operator"] == "In"
    assert set(expression["values"]) == ML_NAMESPACES
    assert rule["ports"] == [{"protocol": "TCP", "port": PORT}]


def test_egress_is_narrow(aws: ServicesPreview, onprem: ServicesPreview) -> None:
    cloud = aws.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "services-feast-server-egress").inputs["spec"]
    vpc_rule = cloud["egress"][0]
    assert vpc_rule["to"] == [{"ipBlock": {"cidr": "10.40.0.0/16"}}]
    assert vpc_rule["ports"] == [{"protocol": "TCP", "port": 5432}, {"protocol": "TCP", "port": 6379}]
    assert cloud["egress"][1]["ports"] == [{"protocol": "TCP", "port": 443}]
    site = onprem.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "services-feast-server-egress").inputs["spec"]
    assert not any("ipBlock" in peer for rule in site["egress"] for peer in rule["to"])

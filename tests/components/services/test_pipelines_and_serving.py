"""Kubeflow Pipelines and KServe under mocks: pinned upstream installs, private endpoints, artifacts on the
stack's bucket, and the deploy step's RBAC limited to InferenceServices in the serving namespace."""

from __future__ import annotations

import pytest
import yaml

from components import versions
from components.services import kfp
from tests.components.services.conftest import ServicesPreview

DIRECTORY = "kubernetes:kustomize/v2:Directory"


def test_kfp_is_the_pinned_upstream_release(any_stack: ServicesPreview) -> None:
    directories = {r.name: r.inputs["directory"] for r in any_stack.of_type(DIRECTORY)}
    assert directories == {
        "services-kfp-cluster-resources": versions.KFP_CLUSTER_RESOURCES.url,
        "services-kfp-install": versions.KFP_PLATFORM.url,
        "training-trainer-manager": versions.TRAINER_MANAGER.url,  # the training platform's (issue 12)
        "training-katib-install": versions.KATIB.url,
    }
    for name, url in directories.items():
        if name.startswith("services-kfp-"):
            assert url.startswith("github.com/kubeflow/pipelines/manifests/kustomize/") and url.endswith(
                f"?ref={versions.KFP_VERSION}"
            )


def test_kfp_endpoint_is_private(any_stack: ServicesPreview) -> None:
    assert any_stack.result.outputs["kfp_endpoint"] == "http://ml-pipeline.kubeflow.svc.cluster.local:8888"
    assert not [
        r for r in any_stack.under("mlops:services:KubeflowPipelines") if r.type == "kubernetes:core/v1:Service"
    ]  # no load balancer unless explicitly asked (internal only)


def test_internal_load_balancer_is_internal_only() -> None:
    assert set(kfp.INTERNAL_LB_ANNOTATIONS.values()) <= {"internal", "true"}


@pytest.mark.parametrize(
    ("stack", "root"),
    [
        ("aws", "s3://aws-uae-prod-pipeline-artifacts-123456789012/pipeline-root"),
        ("onprem", "s3://pipeline-artifacts/pipeline-root"),
    ],
)
def test_pipeline_root_is_the_stacks_artifacts_bucket(stack: str, root: str, request: pytest.FixtureRequest) -> None:
    preview: ServicesPreview = request.getfixturevalue(stack)
    data = preview.one("kubernetes:core/v1:ConfigMapPatch", "services-kfp-launcher").inputs["data"]
    assert data["defaultPipelineRoot"] == root
    provider = yaml.safe_load(data["providers"])["s3"]["default"]
    assert provider["disableSSL"] is False
    if stack == "aws":
        assert provider["credentials"] == {"fromEnv": True}  # IRSA, no keys
        assert provider["endpoint"] == "s3.me-central-1.amazonaws.com"


def test_pipeline_runner_is_bound_to_its_cloud_identity(aws: ServicesPreview) -> None:
    patch = aws.one("kubernetes:core/v1:ServiceAccountPatch", "services-kfp-runner-identity").inputs["metadata"]
    assert patch["name"] == kfp.RUNNER_SERVICE_ACCOUNT and patch["namespace"] == kfp.NAMESPACE
    assert patch["annotations"]["eks.amazonaws.com/role-arn"].endswith("kfp-pipeline-runner")


def test_kfp_namespace_is_locked_down(any_stack: ServicesPreview) -> None:
    ns = any_stack.one("kubernetes:core/v1:Namespace", "services-kfp-ns").inputs["metadata"]
    assert ns["name"] == "kubeflow"
    labels = ns["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"
    deny = any_stack.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "services-kfp-ns-default-deny").inputs
    assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"]


def test_kserve_charts_are_pinned(any_stack: ServicesPreview) -> None:
    releases = {r.name: r.inputs for r in any_stack.of_type("kubernetes:helm.sh/v3:Release")}
    crd, controller = releases["services-kserve-crd"], releases["services-kserve"]
    assert (crd["chart"], crd["version"]) == ("oci://ghcr.io/kserve/charts/kserve-crd", versions.KSERVE_VERSION)
    assert (controller["chart"], controller["version"]) == (
        "oci://ghcr.io/kserve/charts/kserve",
        versions.KSERVE_VERSION,
    )


def test_serving_runtime_is_the_projects_oip_server_pinned_and_hardened(any_stack: ServicesPreview) -> None:
    runtime = any_stack.one("kubernetes:serving.kserve.io/v1alpha1:ServingRuntime", "services-kserve-runtime").inputs
    assert runtime["metadata"] == {"name": "mlops-credit-risk-oip", "namespace": "ml-serving"}
    assert runtime["spec"]["supportedModelFormats"] == [
        {"name": "credit-risk-mlp", "version": "1", "autoSelect": True, "priority": 1}
    ]
    assert runtime["spec"]["protocolVersions"] == ["v2"]
    [container] = runtime["spec"]["containers"]
    assert container["image"] == f"{versions.MODEL_SERVER_REPOSITORY}:{versions.PROJECT_VERSION}"
    assert container["args"] == ["--model-dir=/mnt/models", "--model-name={{.Name}}", "--http-port=8080"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert set(container["resources"]) == {"requests", "limits"}
    assert [v["mountPath"] for v in container["volumeMounts"]] == ["/tmp"]  # the only writable path


def test_model_server_image_comes_from_the_stacks_registry() -> None:
    from tests.components.services.conftest import preview_services

    preview = preview_services("onprem-dc1", {"modelServerRepository": "registry.dc1.internal/mlops/model-server"})
    runtime = preview.one("kubernetes:serving.kserve.io/v1alpha1:ServingRuntime", "services-kserve-runtime").inputs
    assert runtime["spec"]["containers"][0]["image"] == (
        f"registry.dc1.internal/mlops/model-server:{versions.PROJECT_VERSION}"
    )


def test_project_version_is_the_package_version() -> None:
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).resolve().parents[3] / "pyproject.toml").read_text())
    assert versions.PROJECT_VERSION == pyproject["project"]["version"]


def test_deploy_step_may_roll_out_inference_services_in_the_serving_namespace_only(any_stack: ServicesPreview) -> None:
    role = any_stack.one("kubernetes:rbac.authorization.k8s.io/v1:Role", "services-kserve-deployer").inputs
    assert role["metadata"]["namespace"] == "ml-serving"
    verbs = {v for rule in role["rules"] for v in rule["verbs"]}
    assert "*" not in verbs and "deletecollection" not in verbs
    # delete only on InferenceServices: a failed first rollout has no previous revision to fall back to
    assert [r["resources"] for r in role["rules"] if "delete" in r["verbs"]] == [["inferenceservices"]]
    assert {g for rule in role["rules"] for g in rule["apiGroups"]} == {"serving.kserve.io", ""}
    # besides KServe objects: read the release approvals ConfigMap, that one only
    assert [r for r in role["rules"] if r["apiGroups"] == [""]] == [
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["release-approvals"], "verbs": ["get"]}
    ]
    assert {"create", "update", "patch"} <= set(role["rules"][0]["verbs"])  # canary: patch canaryTrafficPercent
    binding = any_stack.one("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "services-kserve-deployer").inputs
    assert binding["metadata"]["namespace"] == "ml-serving"
    assert binding["roleRef"]["kind"] == "Role"
    # the deploy identity, never pipeline-runner (which trains)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "pipeline-deployer", "namespace": "kubeflow"}]
    cluster_bindings = [
        r
        for r in any_stack.under("mlops:services:PlatformServices")
        if r.type == "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
    ]
    assert cluster_bindings == []


def test_model_servers_read_models_only(aws: ServicesPreview) -> None:
    import json

    statements = json.loads(aws.one("aws:iam/rolePolicy:RolePolicy", "kserve-model-server-irsa").inputs["policy"])
    resources = [
        r
        for s in statements["Statement"]
        for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    ]
    assert all("models" in r or ":kms:" in r for r in resources)
    assert not [s for s in statements["Statement"] if s["Sid"] == "WriteObjects"]


def test_manifests_are_pinned_to_exact_release_tags() -> None:
    import re

    for manifests in versions.MANIFESTS:
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", manifests.ref), manifests  # Trainer and Katib tag with a "v"
        assert manifests.url.endswith(f"?ref={manifests.ref}")


def test_model_servers_carry_their_cloud_identity(azure: ServicesPreview, onprem: ServicesPreview) -> None:
    runtime = azure.one("kubernetes:serving.kserve.io/v1alpha1:ServingRuntime", "services-kserve-runtime").inputs
    assert runtime["spec"]["labels"] == {"azure.workload.identity/use": "true"}  # storage initializer's token
    account = onprem.one("kubernetes:core/v1:ServiceAccount", "services-kserve-model-server").inputs
    assert account["secrets"] == [{"name": "model-serving-object-store"}]  # KServe reads the keys from here
    assert account["metadata"]["annotations"]["serving.kserve.io/s3-usehttps"] == "1"

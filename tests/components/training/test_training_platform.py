"""The training layer on each stack: Trainer and its torch runtime, Katib, Kueue queues sized from the node pools,
per-team quotas, and the pipeline runner's namespaced Role."""

from __future__ import annotations

import pytest
import yaml

from components import gpu, versions
from components.kubernetes.egress import EgressEndpoints
from components.training import kueue
from components.training.platform import TrainingPlatform
from infra.targets.args import training_platform_args
from policies.preview.model import PreviewResult
from tests.components.kubernetes.helpers import stack_config
from tests.conftest import of_type, one, run_mocked

API_SERVER = EgressEndpoints(api_server_cidrs=["10.40.0.0/16"]).api_server()
CQ = "kubernetes:kueue.x-k8s.io/v1beta1:ClusterQueue"
LQ = "kubernetes:kueue.x-k8s.io/v1beta1:LocalQueue"
FLAVOR = "kubernetes:kueue.x-k8s.io/v1beta1:ResourceFlavor"
RUNTIME = "kubernetes:trainer.kubeflow.org/v1alpha1:ClusterTrainingRuntime"


def preview(stack: str, **overrides) -> PreviewResult:
    cfg = stack_config(stack, **overrides)
    args = training_platform_args(
        cfg,
        pod_security_version="v1.33",
        pipelines_namespace="kubeflow",
        runner_service_account="pipeline-runner",
        api_server_egress=API_SERVER,
    )
    return run_mocked(lambda: TrainingPlatform("training", args))


@pytest.fixture(scope="module")
def aws() -> PreviewResult:
    return preview("aws-uae-prod")


def test_trainer_and_katib_come_from_pinned_upstream_manifests(aws):
    urls = {d.inputs["directory"] for d in of_type(aws, "kubernetes:kustomize/v2:Directory")}
    assert urls == {versions.TRAINER_MANAGER.url, versions.KATIB.url}
    assert all("?ref=v" in u for u in urls)


def test_torch_runtime_is_named_for_the_pipelines_and_pins_its_image(aws):
    runtime = one(aws, RUNTIME)
    assert runtime.inputs["metadata"]["name"] == gpu.TORCH_RUNTIME
    assert runtime.inputs["spec"]["mlPolicy"]["torch"] == {"numProcPerNode": "auto"}
    (job,) = runtime.inputs["spec"]["template"]["spec"]["replicatedJobs"]
    assert (
        job["template"]["spec"]["template"]["spec"]["containers"][0]["image"] == versions.TRAINER_TORCH_IMAGE.reference
    )


@pytest.mark.parametrize("stack, gpus", [("aws-uae-prod", 40), ("azure-uae-prod", 14), ("onprem-dc1", 20)])
def test_cluster_queue_gpu_quota_is_max_nodes_times_gpus_per_node(stack, gpus):
    spec = one(preview(stack), CQ).inputs["spec"]
    cpu_flavor, gpu_flavor = spec["resourceGroups"][0]["flavors"]
    assert (cpu_flavor["name"], gpu_flavor["name"]) == ("cpu", "gpu")  # CPU-only jobs never land on GPU nodes
    quota = {r["name"]: r["nominalQuota"] for r in gpu_flavor["resources"]}
    assert quota[gpu.GPU_RESOURCE] == gpus
    assert {r["name"]: r["nominalQuota"] for r in cpu_flavor["resources"]}[gpu.GPU_RESOURCE] == 0
    assert spec["preemption"] == {"reclaimWithinCohort": "Any", "withinClusterQueue": "LowerPriority"}


def test_gpu_flavor_places_pods_on_gpu_nodes_with_the_toleration(aws):
    flavors = {f.inputs["metadata"]["name"]: f.inputs["spec"] for f in of_type(aws, FLAVOR)}
    assert flavors["gpu"] == {"nodeLabels": gpu.GPU_NODE_SELECTOR, "tolerations": [gpu.GPU_TOLERATION]}


def test_kueue_manages_trainjobs_and_batch_jobs_with_fair_sharing(aws):
    release = one(aws, "kubernetes:helm.sh/v3:Release", "training-kueue")
    assert release.inputs["version"] == versions.KUEUE.version
    config = yaml.safe_load(release.inputs["values"]["managerConfig"]["controllerManagerConfigYaml"])
    assert config["integrations"]["frameworks"] == ["batch/job", "trainer.kubeflow.org/trainjob"]
    assert config["fairSharing"]["enable"] is True
    assert config["manageJobsWithoutQueueName"] is False


def test_every_team_gets_quota_limit_range_and_the_training_queue():
    teams = [
        {"name": "ml", "namespace": "kubeflow", "gpuQuota": 8},
        {"name": "research", "namespace": "ml-workspace", "gpuQuota": 4, "cpuQuota": "16", "memoryQuota": "64Gi"},
    ]
    result = preview("aws-uae-prod", teams=teams)
    quotas = {
        q.inputs["metadata"]["namespace"]: q.inputs["spec"]["hard"]
        for q in of_type(result, "kubernetes:core/v1:ResourceQuota")
    }
    assert quotas["ml-workspace"] == {
        "requests.nvidia.com/gpu": "4",
        "requests.cpu": "16",
        "requests.memory": "64Gi",
        "pods": "200",
    }
    assert quotas["kubeflow"]["requests.nvidia.com/gpu"] == "8"
    ranges = of_type(result, "kubernetes:core/v1:LimitRange")
    assert {r.inputs["metadata"]["namespace"] for r in ranges} == {"kubeflow", "ml-workspace"}
    assert all(set(r.inputs["spec"]["limits"][0]) == {"type", "default", "defaultRequest"} for r in ranges)
    queues = {(q.inputs["metadata"]["namespace"], q.inputs["metadata"]["name"]) for q in of_type(result, LQ)}
    assert queues == {("kubeflow", gpu.TRAINING_QUEUE), ("ml-workspace", gpu.TRAINING_QUEUE)}
    spec = one(result, CQ).inputs["spec"]
    cpu = {r["name"]: r["nominalQuota"] for r in spec["resourceGroups"][0]["flavors"][0]["resources"]}
    assert cpu["cpu"] == "80000m" and cpu["memory"] == f"{320 * 1024}Mi"  # 64 + 16 cores, 256 + 64 Gi
    assert spec["namespaceSelector"]["matchExpressions"][0]["values"] == ["kubeflow", "ml-workspace"]


def test_pipeline_runner_may_submit_training_in_its_namespace_only(aws):
    assert not [r for r in of_type(aws, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")]
    role = one(aws, "kubernetes:rbac.authorization.k8s.io/v1:Role", "training-runner")
    assert role.inputs["metadata"]["namespace"] == "kubeflow"
    rules = {(r["apiGroups"][0], tuple(r["resources"])): r["verbs"] for r in role.inputs["rules"]}
    assert rules[("trainer.kubeflow.org", ("trainjobs",))] == ["create", "get", "list", "watch", "delete"]
    assert rules[("kubeflow.org", ("experiments", "trials"))] == ["create", "get", "list", "watch", "delete"]
    assert rules[("", ("pods/log",))] == ["get"]
    binding = one(aws, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "training-runner")
    assert binding.inputs["subjects"] == [
        {"kind": "ServiceAccount", "name": "pipeline-runner", "namespace": "kubeflow"}
    ]
    assert binding.inputs["roleRef"]["kind"] == "Role"


def test_quantities_add_up():
    assert kueue.cpu_millicores("500m") + kueue.cpu_millicores("0.5") + kueue.cpu_millicores("2") == 3000
    assert kueue.memory_mebibytes("1Ti") == 1024 * 1024 and kueue.memory_mebibytes("512Mi") == 512

"""The Kubeflow Trainer TrainJob launcher: the manifest (Trainer v2.1 API) and the create/await/log loop against a
small fake of the Kubernetes API (no cluster exists here)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from kubernetes.client.exceptions import ApiException

from components.gpu import (
    GPU_NODE_SELECTOR,
    GPU_RESOURCE,
    GPU_TOLERATION,
    QUEUE_NAME_LABEL,
    TORCH_RUNTIME,
    TRAINING_QUEUE,
)
from pipelines.steps.trainjob import (
    EFA_RESOURCE,
    RDMA_RESOURCE,
    TrainJobFailed,
    build_trainjob,
    run_trainjob,
    trainjob_name,
)

# Trainer v2.1 (components/versions.py TRAINER_VERSION on the stacks) TrainJob fields, from
# pkg/apis/trainer/v1alpha1/trainjob_types.go: v2.1 names the pod override `podTemplateOverrides` (v2.0:
# `podSpecOverrides`; v2.2 replaces it with `runtimePatches`).
SPEC_FIELDS = {
    "runtimeRef",
    "initializer",
    "trainer",
    "podTemplateOverrides",
    "labels",
    "annotations",
    "suspend",
    "managedBy",
}
TRAINER_FIELDS = {"image", "command", "args", "env", "numNodes", "resourcesPerNode", "numProcPerNode"}
OVERRIDE_FIELDS = {"targetJobs", "metadata", "spec"}
OVERRIDE_SPEC_FIELDS = {
    "serviceAccountName",
    "nodeSelector",
    "affinity",
    "tolerations",
    "volumes",
    "initContainers",
    "containers",
    "schedulingGates",
    "imagePullSecrets",
}


def _env(manifest) -> dict:
    return {e["name"]: e["value"] for e in manifest["spec"]["trainer"]["env"]}


def test_the_manifest_requests_gpus_per_node_on_the_gpu_pools_through_kueue():
    m = build_trainjob(
        "train-abc-123", "team-a", "registry/trainer:0.1.0", "s3://b/run/k/spec.json", num_nodes=2, gpus_per_node=4
    )
    assert m["apiVersion"] == "trainer.kubeflow.org/v1alpha1" and m["kind"] == "TrainJob"
    assert m["metadata"]["labels"][QUEUE_NAME_LABEL] == TRAINING_QUEUE and m["metadata"]["namespace"] == "team-a"
    spec = m["spec"]
    assert set(spec) <= SPEC_FIELDS and set(spec["trainer"]) <= TRAINER_FIELDS
    assert spec["runtimeRef"] == {
        "name": TORCH_RUNTIME,
        "apiGroup": "trainer.kubeflow.org",
        "kind": "ClusterTrainingRuntime",
    }
    trainer = spec["trainer"]
    assert trainer["numNodes"] == 2 and trainer["numProcPerNode"] == 4
    assert trainer["resourcesPerNode"]["limits"][GPU_RESOURCE] == "4"
    assert trainer["resourcesPerNode"]["requests"] == trainer["resourcesPerNode"]["limits"]
    assert trainer["command"] == ["torchrun"]
    assert trainer["args"] == ["-m", "pipelines.ml.ddp_worker", "s3://b/run/k/spec.json"]
    (override,) = spec["podTemplateOverrides"]
    assert set(override) <= OVERRIDE_FIELDS and set(override["spec"]) <= OVERRIDE_SPEC_FIELDS
    assert override["targetJobs"] == [{"name": "node"}]
    assert override["spec"]["nodeSelector"] == GPU_NODE_SELECTOR and override["spec"]["tolerations"] == [GPU_TOLERATION]
    assert _env(m)["TORCH_NCCL_ASYNC_ERROR_HANDLING"] == "1"
    assert EFA_RESOURCE not in trainer["resourcesPerNode"]["limits"] and "FI_PROVIDER" not in _env(m)


def test_efa_and_infiniband_request_their_network_devices_and_set_the_transport_env():
    efa = build_trainjob("train-a", "ns", "img:1", "spec", interconnect="efa")
    assert efa["spec"]["trainer"]["resourcesPerNode"]["limits"][EFA_RESOURCE] == "1"
    assert _env(efa)["FI_PROVIDER"] == "efa" and _env(efa)["FI_EFA_USE_DEVICE_RDMA"] == "1"
    ib = build_trainjob("train-a", "ns", "img:1", "spec", interconnect="infiniband")
    assert ib["spec"]["trainer"]["resourcesPerNode"]["limits"][RDMA_RESOURCE] == "1"
    assert _env(ib)["NCCL_IB_DISABLE"] == "0" and "FI_PROVIDER" not in _env(ib)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="interconnect 'roce' is not one of"):
        build_trainjob("train-a", "ns", "img", "spec", interconnect="roce")
    with pytest.raises(ValueError, match="at least 1"):
        build_trainjob("train-a", "ns", "img", "spec", gpus_per_node=0)
    with pytest.raises(ValueError, match="DNS-1035"):
        build_trainjob("Train_A", "ns", "img", "spec")


def test_names_are_stable_per_run_and_configuration_and_valid():
    name = trainjob_name("3f2a-run-uuid", "0123456789abcdef")
    assert name == trainjob_name("3f2a-run-uuid", "0123456789abcdef") != trainjob_name("other", "0123456789abcdef")
    build_trainjob(name, "ns", "img", "spec")  # passes the name check


class FakeK8s:
    """CustomObjectsApi + CoreV1Api, scripted: each get returns the next status; rank 0's log grows."""

    def __init__(self, statuses, exists=False, create_error=None):
        self.statuses, self.exists, self.create_error = list(statuses), exists, create_error
        self.created, self.deleted, self.gets, self.log_lines = [], [], 0, []

    def create_namespaced_custom_object(self, group, version, namespace, plural, body):
        if self.create_error:
            raise self.create_error
        if self.exists:
            raise ApiException(status=409, reason="AlreadyExists")
        self.created.append((group, version, namespace, plural, body["metadata"]["name"]))

    def get_namespaced_custom_object(self, group, version, namespace, plural, name):
        status = self.statuses[min(self.gets, len(self.statuses) - 1)]
        self.gets += 1
        self.log_lines.append(f"epoch {self.gets}")
        return {"metadata": {"name": name}, "status": status}

    def delete_namespaced_custom_object(self, group, version, namespace, plural, name):
        self.deleted.append(name)

    def list_namespaced_pod(self, namespace, label_selector):
        assert "jobset.sigs.k8s.io/jobset-name=train-a" in label_selector and "job-completion-index=0" in label_selector
        meta = SimpleNamespace(name="train-a-node-0-0-xyz", creation_timestamp=1)
        return SimpleNamespace(items=[SimpleNamespace(metadata=meta)])

    def read_namespaced_pod_log(self, pod, namespace, container):
        return "\n".join(self.log_lines)


RUNNING = {"conditions": [{"type": "Created", "status": "True"}]}
COMPLETE = {
    "conditions": [
        {"type": "Created", "status": "True"},
        {"type": "Complete", "status": "True", "message": "jobset completed"},
    ]
}
FAILED = {
    "conditions": [
        {"type": "Failed", "status": "True", "reason": "JobSetFailed", "message": "jobset failed: node-0 exit code 1"}
    ]
}


def _run(fake, **kw):
    lines = []
    manifest = build_trainjob("train-a", "team-a", "img", "spec")
    result = run_trainjob(manifest, fake, fake, poll_s=5, log=lines.append, sleep=lambda s: None, **kw)
    return result, lines


def test_await_returns_on_complete_and_prints_each_rank0_log_line_once():
    fake = FakeK8s([RUNNING, RUNNING, COMPLETE])
    job, lines = _run(fake)
    assert job["status"] == COMPLETE and fake.created == [
        ("trainer.kubeflow.org", "v1alpha1", "team-a", "trainjobs", "train-a")
    ]
    assert [l for l in lines if "epoch" in l] == [f"[train-a-node-0-0-xyz] epoch {i}" for i in (1, 2, 3)]
    assert not fake.deleted


def test_a_failed_trainjob_raises_naming_it_and_its_condition_message():
    with pytest.raises(
        TrainJobFailed,
        match=r"TrainJob team-a/train-a failed \(JobSetFailed\): jobset failed: "
        r"node-0 exit code 1",
    ):
        _run(FakeK8s([RUNNING, FAILED]))


def test_a_timeout_deletes_only_a_trainjob_this_call_created():
    clock = iter(range(0, 10_000, 100))
    fake = FakeK8s([RUNNING])
    with pytest.raises(TrainJobFailed, match=r"did not finish within 250s \(Created=True\); deleted it"):
        _run(fake, timeout_s=250, clock=lambda: next(clock))
    assert fake.deleted == ["train-a"]
    clock = iter(range(0, 10_000, 100))
    adopted = FakeK8s([RUNNING], exists=True)  # an earlier attempt of this step created it
    with pytest.raises(TrainJobFailed, match=r"did not finish within 250s \(Created=True\)$"):
        _run(adopted, timeout_s=250, clock=lambda: next(clock))
    assert adopted.deleted == [] and adopted.created == []


def test_a_retried_step_adopts_its_existing_trainjob_and_a_rejected_create_fails_clearly():
    job, lines = _run(FakeK8s([COMPLETE], exists=True))
    assert "exists (an earlier attempt of this step)" in lines[0] and job["status"] == COMPLETE
    denied = FakeK8s([], create_error=ApiException(status=403, reason="Forbidden"))
    with pytest.raises(TrainJobFailed, match="cannot create TrainJob team-a/train-a: 403 Forbidden"):
        _run(denied)

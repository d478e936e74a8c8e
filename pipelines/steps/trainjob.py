"""Distributed training on the cluster: a Kubeflow Trainer v2 TrainJob (Trainer v2.1, ``trainer.kubeflow.org/
v1alpha1``) running torchrun over ``num_nodes`` x ``gpus_per_node`` ranks of :mod:`pipelines.ml.ddp_worker`.

The TrainJob references the platform's ClusterTrainingRuntime (:data:`components.gpu.TORCH_RUNTIME`, replicated job
and container ``node``), carries the Kueue queue label so Kueue admits it against the team's quota, and places its
pods on the GPU pools through ``podTemplateOverrides`` (v2.1's name; v2.0 called it ``podSpecOverrides`` and v2.2
replaces it with ``runtimePatches``). The trainer's image, command, args, env and resources are set in ``trainer``,
which the override may not touch.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from typing import Any

from components.gpu import (
    GPU_NODE_SELECTOR,
    GPU_RESOURCE,
    GPU_TOLERATION,
    QUEUE_NAME_LABEL,
    TORCH_RUNTIME,
    TRAINING_QUEUE,
)

GROUP, VERSION, PLURAL = "trainer.kubeflow.org", "v1alpha1", "trainjobs"
API_VERSION = f"{GROUP}/{VERSION}"
NODE_JOB = "node"
"""The runtime's replicated job (and its container) that runs torchrun; rank 0 is its pod of completion index 0."""
EFA_RESOURCE = "vpc.amazonaws.com/efa"
RDMA_RESOURCE = "rdma/rdma_shared_device_a"
"""The NVIDIA network operator's RDMA shared-device plugin resource (its default name) for InfiniBand."""
INTERCONNECTS = ("", "efa", "infiniband")
NCCL_ENV = {"NCCL_DEBUG": "WARN", "TORCH_NCCL_ASYNC_ERROR_HANDLING": "1"}
EFA_ENV = {"FI_PROVIDER": "efa", "FI_EFA_USE_DEVICE_RDMA": "1", "NCCL_PROTO": "simple"}
IB_ENV = {"NCCL_IB_DISABLE": "0", "NCCL_IB_HCA": "mlx5", "NCCL_IB_GID_INDEX": "3", "NCCL_NET_GDR_LEVEL": "2"}
JOBSET_NAME_LABEL = "jobset.sigs.k8s.io/jobset-name"
REPLICATED_JOB_LABEL = "jobset.sigs.k8s.io/replicatedjob-name"
JOB_INDEX_LABEL = "jobset.sigs.k8s.io/job-index"
COMPLETION_INDEX_LABEL = "batch.kubernetes.io/job-completion-index"


class TrainJobFailed(RuntimeError):
    pass


def trainjob_name(run_id: str, key: str) -> str:
    """A DNS-1035 name, stable per (run, hyperparameters) so a retried step finds its own TrainJob."""
    digest = hashlib.sha256(f"{run_id}/{key}".encode()).hexdigest()[:10]
    return f"train-{re.sub(r'[^a-z0-9]', '', key.lower())[:12]}-{digest}"


def build_trainjob(
    name: str,
    namespace: str,
    image: str,
    spec_uri: str,
    num_nodes: int = 1,
    gpus_per_node: int = 1,
    interconnect: str = "",
    cpu: str = "4",
    memory: str = "16Gi",
    env: dict[str, str] | None = None,
    service_account: str = "",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The TrainJob manifest: ``num_nodes`` pods, each with ``gpus_per_node`` GPUs and as many torchrun ranks."""
    if interconnect not in INTERCONNECTS:
        raise ValueError(f"interconnect {interconnect!r} is not one of {list(INTERCONNECTS)}")
    if int(num_nodes) < 1 or int(gpus_per_node) < 1:
        raise ValueError(f"num_nodes and gpus_per_node must be at least 1, got {num_nodes} and {gpus_per_node}")
    if not re.fullmatch(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", name):
        raise ValueError(f"TrainJob name {name!r} is not a DNS-1035 label")
    resources = {GPU_RESOURCE: str(gpus_per_node), "cpu": cpu, "memory": memory}
    variables = {**NCCL_ENV, **(env or {})}
    if interconnect == "efa":
        resources[EFA_RESOURCE] = "1"
        variables.update(EFA_ENV)
    elif interconnect == "infiniband":
        resources[RDMA_RESOURCE] = "1"
        variables.update(IB_ENV)
    pod_spec: dict[str, Any] = {"nodeSelector": dict(GPU_NODE_SELECTOR), "tolerations": [dict(GPU_TOLERATION)]}
    if service_account:
        pod_spec["serviceAccountName"] = service_account  # object-store access (IRSA / workload identity)
    return {
        "apiVersion": API_VERSION,
        "kind": "TrainJob",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {**(labels or {}), QUEUE_NAME_LABEL: TRAINING_QUEUE},
        },
        "spec": {
            "runtimeRef": {"name": TORCH_RUNTIME, "apiGroup": GROUP, "kind": "ClusterTrainingRuntime"},
            "trainer": {
                "image": image,
                "command": ["torchrun"],
                "args": ["-m", "pipelines.ml.ddp_worker", spec_uri],
                "env": [{"name": k, "value": v} for k, v in sorted(variables.items())],
                "numNodes": int(num_nodes),
                "numProcPerNode": int(gpus_per_node),
                "resourcesPerNode": {"requests": dict(resources), "limits": dict(resources)},
            },
            "podTemplateOverrides": [{"targetJobs": [{"name": NODE_JOB}], "spec": pod_spec}],
        },
    }


def run_trainjob(
    manifest: dict,
    custom_api,
    core_api,
    timeout_s: float = 6 * 3600,
    poll_s: float = 15,
    log: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict:
    """Create the TrainJob (or adopt the one a previous attempt of this step created), wait for Complete or Failed,
    print rank 0's log as it grows, and return the final object.

    Raises :class:`TrainJobFailed` naming the TrainJob and its condition message on failure, and on timeout (then
    deleting the TrainJob only if this call created it, to free its GPUs).
    """
    from kubernetes.client.exceptions import ApiException

    name, namespace = manifest["metadata"]["name"], manifest["metadata"]["namespace"]
    created = False
    try:
        custom_api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest)
        created = True
        log(f"created TrainJob {namespace}/{name}")
    except ApiException as err:
        if err.status != 409:
            raise TrainJobFailed(
                f"cannot create TrainJob {namespace}/{name}: {err.status} {err.reason}: {err.body}"
            ) from err
        log(f"TrainJob {namespace}/{name} exists (an earlier attempt of this step): waiting for it")
    deadline = clock() + timeout_s
    printed = 0
    while True:
        job = custom_api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        printed = _print_new_log_lines(core_api, namespace, name, printed, log)
        conditions = {
            c.get("type"): c for c in (job.get("status") or {}).get("conditions") or [] if c.get("status") == "True"
        }
        if "Failed" in conditions:
            c = conditions["Failed"]
            raise TrainJobFailed(f"TrainJob {namespace}/{name} failed ({c.get('reason', '')}): {c.get('message', '')}")
        if "Complete" in conditions:
            log(f"TrainJob {namespace}/{name} complete: {conditions['Complete'].get('message', '')}")
            return job
        if clock() >= deadline:
            if created:
                custom_api.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
            state = (
                ", ".join(
                    f"{c.get('type')}={c.get('status')}" for c in (job.get("status") or {}).get("conditions") or []
                )
                or "no conditions"
            )
            raise TrainJobFailed(
                f"TrainJob {namespace}/{name} did not finish within {timeout_s:.0f}s ({state})"
                + ("; deleted it" if created else "")
            )
        sleep(poll_s)


def rank0_pod(core_api, namespace: str, name: str) -> str | None:
    """The pod running node 0 of the TrainJob's JobSet (torchrun's rank 0 lives there)."""
    selector = (
        f"{JOBSET_NAME_LABEL}={name},{REPLICATED_JOB_LABEL}={NODE_JOB},{JOB_INDEX_LABEL}=0,{COMPLETION_INDEX_LABEL}=0"
    )
    pods = core_api.list_namespaced_pod(namespace, label_selector=selector).items
    return max(pods, key=lambda p: p.metadata.creation_timestamp or 0).metadata.name if pods else None


def _print_new_log_lines(core_api, namespace: str, name: str, printed: int, log: Callable[[str], None]) -> int:
    from kubernetes.client.exceptions import ApiException

    pod = rank0_pod(core_api, namespace, name)
    if pod is None:
        return printed
    try:
        lines = core_api.read_namespaced_pod_log(pod, namespace, container=NODE_JOB).splitlines()
    except ApiException:  # not started yet
        return printed
    for line in lines[printed:]:
        log(f"[{pod}] {line}")
    return max(printed, len(lines))


def kubernetes_apis():
    """(CustomObjectsApi, CoreV1Api) from the pod's service account, else the local kubeconfig."""
    from kubernetes import client, config

    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.CustomObjectsApi(), client.CoreV1Api()


def current_namespace(default: str = "kubeflow") -> str:
    """The namespace of the pod this runs in (its service-account mount), else ``default``."""
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as fh:
            return fh.read().strip() or default
    except OSError:
        return default

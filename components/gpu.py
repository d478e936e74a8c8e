"""The one place that defines how GPU nodes are marked, so pools, node bootstrap and pipelines agree.

GPU node pools on every target carry :data:`GPU_TAINT` (only pods that tolerate it land there) and
:func:`gpu_node_labels`; the KFP training step reads :data:`GPU_TAINT` and :data:`GPU_NODE_SELECTOR` from here.
Imports nothing heavy: Pulumi programs, pipelines and Checkov data files all read it.
"""

from __future__ import annotations

GPU_RESOURCE = "nvidia.com/gpu"
"""Extended resource the NVIDIA device plugin advertises; training steps request it."""

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
"""Taint on every GPU node: keeps CPU-only workloads off expensive GPUs."""

GPU_TOLERATION = {
    "key": GPU_TAINT["key"],
    "operator": "Equal",
    "value": GPU_TAINT["value"],
    "effect": GPU_TAINT["effect"],
}

LABEL_POOL = "mlops.platform/pool"
LABEL_ACCELERATOR = "mlops.platform/accelerator"
LABEL_GPU_MODEL = "mlops.platform/gpu-model"
LABEL_GPU_COUNT = "mlops.platform/gpu-count"

GPU_NODE_SELECTOR = {LABEL_ACCELERATOR: "nvidia"}
"""Node selector that picks any GPU pool."""


def gpu_node_labels(pool: str, gpu_model: str, gpu_count: int) -> dict[str, str]:
    """Labels every node of a GPU pool carries (on top of the pool's own labels)."""
    return {
        LABEL_POOL: pool,
        LABEL_ACCELERATOR: "nvidia",
        LABEL_GPU_MODEL: gpu_model,
        LABEL_GPU_COUNT: str(gpu_count),
    }


def cpu_node_labels(pool: str) -> dict[str, str]:
    return {LABEL_POOL: pool, LABEL_ACCELERATOR: "none"}


def node_labels(
    pool_name: str, kind: str, gpu_model: str | None, gpu_count: int | None, extra: dict[str, str]
) -> dict[str, str]:
    """A pool's full label set: the pool's configured labels, then the platform's (which win)."""
    base = gpu_node_labels(pool_name, gpu_model or "", gpu_count or 0) if kind == "gpu" else cpu_node_labels(pool_name)
    return {**extra, **base}


# --- Scheduling of training work (Kueue, Kubeflow Trainer, Katib): the names the stacks install and jobs reference ---
QUEUE_NAME_LABEL = "kueue.x-k8s.io/queue-name"
"""Label by which Kueue admits a job into a LocalQueue."""

TRAINING_QUEUE = "ml-training"
"""The Kueue LocalQueue in the pipelines namespace that TrainJobs and Katib trials are submitted to."""

TORCH_RUNTIME = "torch-distributed"
"""The Kubeflow Trainer ClusterTrainingRuntime (torchrun) every stack installs and TrainJobs reference."""

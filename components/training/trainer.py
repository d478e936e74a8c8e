"""Kubeflow Trainer v2: the upstream control plane at a pinned tag, and the platform's torch runtime.

- Control plane: upstream's ``manifests/overlays/manager`` kustomization at :data:`components.versions.TRAINER_VERSION`
  (CRDs, controller manager, webhook, JobSet) in its own ``kubeflow-system`` namespace, fetched by kustomize when
  ``pulumi up`` runs.
- Runtime: the ClusterTrainingRuntime :data:`components.gpu.TORCH_RUNTIME` (torchrun, one process per GPU) is this
  component's own object, not upstream's runtimes overlay, so the preview and the policy gate see it and its image
  is pinned in :mod:`components.versions`. Placement on GPU nodes and admission come from Kueue (the ResourceFlavor
  adds the GPU toleration and node selector), so the runtime carries neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components import gpu, versions

API_VERSION = "trainer.kubeflow.org/v1alpha1"
FRAMEWORK_LABEL = "trainer.kubeflow.org/framework"
"""Tells the Kubeflow SDK which framework a runtime runs."""
ANCESTOR_LABEL = "trainer.kubeflow.org/trainjob-ancestor-step"
"""Marks the replicated job that a TrainJob's ``trainer`` section configures."""
NAMESPACE = "kubeflow-system"
"""Where upstream's manager overlay installs the controller (its kustomization fixes the namespace)."""


def torch_runtime_spec(image: versions.Image) -> dict[str, Any]:
    """The runtime: ``numNodes`` nodes (set by the TrainJob) of one container each, torchrun launching one process
    per GPU (``numProcPerNode: auto``); the TrainJob's trainer section gives the command and resources."""
    return {
        "mlPolicy": {"numNodes": 1, "torch": {"numProcPerNode": "auto"}},
        "template": {
            "spec": {
                "replicatedJobs": [
                    {
                        "name": "node",
                        "template": {
                            "metadata": {"labels": {ANCESTOR_LABEL: "trainer"}},
                            "spec": {
                                "template": {"spec": {"containers": [{"name": "node", "image": image.reference}]}}
                            },
                        },
                    }
                ]
            }
        },
    }


@dataclass
class KubeflowTrainerArgs:
    manager: versions.Manifests = versions.TRAINER_MANAGER
    torch_image: versions.Image = versions.TRAINER_TORCH_IMAGE
    runtime_name: str = gpu.TORCH_RUNTIME


class KubeflowTrainer(pulumi.ComponentResource):
    """Upstream Trainer at a pinned tag and the ``torch-distributed`` ClusterTrainingRuntime."""

    runtime_name: pulumi.Output[str]

    def __init__(self, name: str, args: KubeflowTrainerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:training:Trainer", name, None, opts)
        from pulumi_kubernetes.apiextensions import CustomResource
        from pulumi_kubernetes.kustomize.v2 import Directory

        manager = Directory(f"{name}-manager", directory=args.manager.url, opts=pulumi.ResourceOptions(parent=self))
        runtime = CustomResource(
            f"{name}-torch-runtime",
            api_version=API_VERSION,
            kind="ClusterTrainingRuntime",
            metadata={"name": args.runtime_name, "labels": {FRAMEWORK_LABEL: "torch"}},
            spec=torch_runtime_spec(args.torch_image),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[manager]),  # the CRD and its webhook come first
        )
        self.runtime_name = runtime.metadata.apply(lambda m: m["name"])
        self.register_outputs({"runtimeName": self.runtime_name})

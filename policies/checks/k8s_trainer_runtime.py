"""CKV_MLOPS_207: where teams train, the Kubeflow Trainer control plane and its torch runtime are installed.

On each team namespace: the stack plans the ClusterTrainingRuntime named by the context's ``torch_runtime``
(``components.gpu.TORCH_RUNTIME``) and installs Trainer's control plane from a kustomization of
``github.com/kubeflow/trainer`` at a pinned ``?ref=``. The runtime is the component's own object (seen in full);
the control plane is fetched at deploy time, so only its kustomization target is seen, not its objects.
"""

from __future__ import annotations

import re

from _mlops_context import PolicyContext
from _mlops_training import TeamNamespaceCheck
from checkov.common.bridgecrew.severities import BcSeverities

TRAINER_SOURCE = re.compile(r"github\.com/kubeflow/trainer(\.git)?/.*\?(.*&)?ref=[^&]+")


class K8sTrainerRuntime(TeamNamespaceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure the Kubeflow Trainer control plane and the torch ClusterTrainingRuntime are installed",
            id="CKV_MLOPS_207",
            guideline="Keep components/training/trainer.py: the pinned Trainer kustomization and the "
            "torch-distributed ClusterTrainingRuntime. See docs/policies.md#ckv_mlops_207",
            severity=BcSeverities.MEDIUM,
        )

    def team_passes(self, context: PolicyContext, namespace: str) -> bool:
        runtimes = [r for r in context.objects("ClusterTrainingRuntime") if r.get("name") == context.torch_runtime]
        sources = (context.inventory or {}).get("kustomizations", [])
        return bool(runtimes) and any(TRAINER_SOURCE.search(url) for url in sources)


check = K8sTrainerRuntime()

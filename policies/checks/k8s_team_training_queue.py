"""CKV_MLOPS_206: every team namespace has the Kueue LocalQueue for training, pointing at a ClusterQueue that
exists and has a GPU quota.

The LocalQueue is the context's ``training_queue`` (``components.gpu.TRAINING_QUEUE``) in the namespace; its
``spec.clusterQueue`` must name a ClusterQueue the stack plans, with a resource group covering ``nvidia.com/gpu``
(a nominal quota in every flavor). Without them TrainJobs and Katib trials are never admitted, or run unqueued.
Sees the queues the preview plans (``mlops:training:Kueue``); Kueue's controller itself comes from its chart and is
checked only as a source (docs/policies.md).
"""

from __future__ import annotations

from _mlops_context import PolicyContext
from _mlops_training import GPU_RESOURCE, TeamNamespaceCheck, covers
from _mlops_values import get_path
from checkov.common.bridgecrew.severities import BcSeverities


class K8sTeamTrainingQueue(TeamNamespaceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure every team namespace has the training LocalQueue on a ClusterQueue with a GPU quota",
            id="CKV_MLOPS_206",
            guideline="Keep components/training/kueue.py's ClusterQueue (quota for nvidia.com/gpu) and the "
            "ml-training LocalQueue in every team namespace. See docs/policies.md#ckv_mlops_206",
            severity=BcSeverities.MEDIUM,
        )

    def team_passes(self, context: PolicyContext, namespace: str) -> bool:
        cluster_queues = {q.get("name"): q for q in context.objects("ClusterQueue")}
        for local in context.objects("LocalQueue", namespace):
            if local.get("name") != context.training_queue:
                continue
            target = cluster_queues.get(get_path(local, "spec", "clusterQueue"))
            if target is not None and covers(target, GPU_RESOURCE):
                return True
        return False


check = K8sTeamTrainingQueue()

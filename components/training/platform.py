"""Training that scales out, on every target: Trainer, Katib, Kueue, per-team quotas, and what KFP may submit.

Composes :mod:`.trainer`, :mod:`.katib`, :mod:`.kueue` and :mod:`.quotas` after the platform services (the pipelines
namespace ``kubeflow`` is KFP's), and grants KFP's ``pipeline-runner`` ServiceAccount the rights to submit and
follow training from a pipeline step, in its own namespace only (a Role, never a ClusterRole).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.kubernetes.rbac import RBAC_GROUP
from components.training.katib import Katib, KatibArgs
from components.training.kueue import Kueue, KueueArgs, TeamShare
from components.training.quotas import TeamQuota, TeamQuotas, TeamQuotasArgs
from components.training.trainer import KubeflowTrainer, KubeflowTrainerArgs

SUBMIT = ["create", "get", "list", "watch", "delete"]
RUNNER_TRAINING_ROLE = "mlops:pipeline-runner-training"
RUNNER_TRAINING_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["trainer.kubeflow.org"], "resources": ["trainjobs"], "verbs": SUBMIT},
    {"apiGroups": ["kubeflow.org"], "resources": ["experiments", "trials"], "verbs": SUBMIT},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
]
"""Submit TrainJobs and Katib experiments, follow their trials, read the training pods' logs."""


@dataclass
class TrainingPlatformArgs:
    pod_security_version: str
    gpu_capacity: int
    teams: Sequence[TeamQuota]
    pipelines_namespace: str
    """KFP's namespace, where Katib installs and the pipeline runner submits from."""
    runner_service_account: str
    api_server_egress: Sequence[dict[str, Any]]
    """NetworkPolicy egress rules to the API server (``EgressEndpoints.api_server()``) for Kueue's controller."""
    namespaces: Sequence[pulumi.Resource] = ()
    """Resources that make the team namespaces and the pipelines namespace."""


class TrainingPlatform(pulumi.ComponentResource):
    """Kubeflow Trainer, Katib, Kueue with the training queues, team quotas, and the runner's training Role."""

    cluster_queue: pulumi.Output[str]
    runtime_name: pulumi.Output[str]

    def __init__(self, name: str, args: TrainingPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:training:TrainingPlatform", name, None, opts)
        from pulumi_kubernetes.rbac.v1 import Role, RoleBinding

        child = pulumi.ResourceOptions(parent=self)
        after_namespaces = pulumi.ResourceOptions(parent=self, depends_on=list(args.namespaces))
        trainer = KubeflowTrainer(f"{name}-trainer", KubeflowTrainerArgs(), opts=child)
        Katib(f"{name}-katib", KatibArgs(namespace=args.pipelines_namespace), opts=after_namespaces)
        quotas = TeamQuotas(f"{name}-quotas", TeamQuotasArgs(teams=args.teams, namespaces=args.namespaces), opts=child)
        kueue = Kueue(
            f"{name}-kueue",
            KueueArgs(
                pod_security_version=args.pod_security_version,
                gpu_capacity=args.gpu_capacity,
                teams=[TeamShare(t.namespace, t.gpus, t.cpu, t.memory) for t in args.teams],
                api_server_egress=args.api_server_egress,
                team_namespaces=[*args.namespaces, quotas],
            ),
            opts=child,
        )
        role = Role(
            f"{name}-runner",
            metadata={"name": RUNNER_TRAINING_ROLE, "namespace": args.pipelines_namespace},
            rules=RUNNER_TRAINING_RULES,
            opts=after_namespaces,
        )
        RoleBinding(
            f"{name}-runner",
            metadata={"name": RUNNER_TRAINING_ROLE, "namespace": args.pipelines_namespace},
            role_ref={"apiGroup": RBAC_GROUP, "kind": "Role", "name": role.metadata.apply(lambda m: m["name"])},
            subjects=[
                {"kind": "ServiceAccount", "name": args.runner_service_account, "namespace": args.pipelines_namespace}
            ],
            opts=after_namespaces,
        )
        self.cluster_queue = kueue.cluster_queue
        self.runtime_name = trainer.runtime_name
        self.register_outputs({"clusterQueue": self.cluster_queue, "runtimeName": self.runtime_name})

"""Per-team limits: a ResourceQuota and a LimitRange in every team namespace (``mlops:teams``).

The quota bounds what the namespace may hold at once (GPUs, CPU and memory requests, pods), whatever submits it
(KFP steps, TrainJobs, Katib trials); the LimitRange gives containers that set nothing default requests and limits,
so the quota can count them (a quota on ``requests.cpu`` rejects pods without a CPU request).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components import gpu

QUOTA_NAME = "team-quota"
LIMIT_RANGE_NAME = "team-defaults"
DEFAULT_REQUEST = {"cpu": "100m", "memory": "256Mi"}
DEFAULT_LIMIT = {"cpu": "2", "memory": "4Gi"}


@dataclass(frozen=True)
class TeamQuota:
    name: str
    namespace: str
    gpus: int
    cpu: str
    memory: str
    pods: int

    def hard(self) -> dict[str, str]:
        """``ResourceQuota.spec.hard``: extended resources are bounded by their ``requests.`` name."""
        return {
            f"requests.{gpu.GPU_RESOURCE}": str(self.gpus),
            "requests.cpu": self.cpu,
            "requests.memory": self.memory,
            "pods": str(self.pods),
        }


@dataclass
class TeamQuotasArgs:
    teams: Sequence[TeamQuota]
    namespaces: Sequence[pulumi.Resource] = ()
    """Resources that make the team namespaces."""


class TeamQuotas(pulumi.ComponentResource):
    """A ResourceQuota and a LimitRange per team namespace."""

    def __init__(self, name: str, args: TeamQuotasArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:training:TeamQuotas", name, None, opts)
        from pulumi_kubernetes.core.v1 import LimitRange, ResourceQuota

        after = pulumi.ResourceOptions(parent=self, depends_on=list(args.namespaces))
        labels = {"app.kubernetes.io/part-of": "mlops-platform"}
        for team in args.teams:
            meta = {"namespace": team.namespace, "labels": {**labels, "mlops.platform/team": team.name}}
            ResourceQuota(
                f"{name}-{team.name}", metadata={"name": QUOTA_NAME, **meta}, spec={"hard": team.hard()}, opts=after
            )
            LimitRange(
                f"{name}-{team.name}",
                metadata={"name": LIMIT_RANGE_NAME, **meta},
                spec={
                    "limits": [
                        {"type": "Container", "defaultRequest": dict(DEFAULT_REQUEST), "default": dict(DEFAULT_LIMIT)}
                    ]
                },
                opts=after,
            )
        self.register_outputs({})

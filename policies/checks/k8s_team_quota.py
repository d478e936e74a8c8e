"""CKV_MLOPS_205: every team namespace has a ResourceQuota that bounds GPUs, CPU and memory, and a LimitRange that
gives containers default requests and limits.

Team namespaces: the context's ``team_namespaces`` (``mlops:teams``). The quota must set
``requests.nvidia.com/gpu`` and CPU and memory (``requests.cpu``/``cpu``, ``requests.memory``/``memory``); the
LimitRange must have a ``Container`` limit with ``default`` and ``defaultRequest`` for CPU and memory. Sees the
objects the preview plans (``mlops:training:TeamQuotas``); a quota made outside the program is invisible.
"""

from __future__ import annotations

from typing import Any

from _mlops_context import PolicyContext
from _mlops_training import GPU_RESOURCE, TeamNamespaceCheck, quantity_set
from _mlops_values import get_path
from checkov.common.bridgecrew.severities import BcSeverities


def bounds(hard: dict[str, Any], *names: str) -> bool:
    return any(quantity_set(hard.get(n)) for n in names)


def quota_passes(quota: dict[str, Any]) -> bool:
    hard = get_path(quota, "spec", "hard")
    if not isinstance(hard, dict):
        return False
    return (
        bounds(hard, f"requests.{GPU_RESOURCE}")
        and bounds(hard, "requests.cpu", "cpu")
        and bounds(hard, "requests.memory", "memory")
    )


def limit_range_passes(limit_range: dict[str, Any]) -> bool:
    for limit in get_path(limit_range, "spec", "limits") or []:
        if not isinstance(limit, dict) or limit.get("type") != "Container":
            continue
        defaults = [limit.get("default"), limit.get("defaultRequest")]
        if all(isinstance(d, dict) and quantity_set(d.get("cpu")) and quantity_set(d.get("memory")) for d in defaults):
            return True
    return False


class K8sTeamQuota(TeamNamespaceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure every team namespace has a ResourceQuota bounding GPUs, CPU and memory, and a LimitRange",
            id="CKV_MLOPS_205",
            guideline="List the team under mlops:teams so components/training/quotas.py gives its namespace a "
            "ResourceQuota (requests.nvidia.com/gpu, requests.cpu, requests.memory, pods) and a LimitRange. "
            "See docs/policies.md#ckv_mlops_205",
            severity=BcSeverities.HIGH,
        )

    def team_passes(self, context: PolicyContext, namespace: str) -> bool:
        return any(quota_passes(q) for q in context.objects("ResourceQuota", namespace)) and any(
            limit_range_passes(r) for r in context.objects("LimitRange", namespace)
        )


check = K8sTeamQuota()

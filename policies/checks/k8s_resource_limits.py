"""CKV_MLOPS_203: every container and init container sets CPU and memory limits.

``resources.limits.cpu`` and ``resources.limits.memory`` must both be set (non-empty), so one workload cannot
starve a node shared with others. A manifest without a pod spec or containers FAILS.
"""

from __future__ import annotations

from typing import Any

from _mlops_k8s import ContainerCheck
from _mlops_values import get_path
from checkov.common.bridgecrew.severities import BcSeverities


def has_limit(container: dict[str, Any], resource: str) -> bool:
    value = get_path(container, "resources", "limits", resource)
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return value > 0
    return isinstance(value, str) and bool(value.strip())


class K8sResourceLimits(ContainerCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure every container and init container sets CPU and memory limits",
            id="CKV_MLOPS_203",
            guideline="Set resources.limits.cpu and resources.limits.memory (and requests) on every container, "
            "init containers included. See docs/policies.md#ckv_mlops_203",
            severity=BcSeverities.MEDIUM,
        )

    def container_passes(self, container: dict[str, Any], pod: dict[str, Any]) -> bool:
        return has_limit(container, "cpu") and has_limit(container, "memory")


check = K8sResourceLimits()

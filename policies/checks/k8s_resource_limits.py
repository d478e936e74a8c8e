"""CKV_MLOPS_203: every container and init container sets CPU and memory limits.

``resources.limits.cpu`` and ``resources.limits.memory`` must both be set (non-empty), so one workload cannot
starve a node shared with others. A manifest without a pod spec or containers FAILS.
"""

from __future__ import annotations

from typing import Any

from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

from _mlops_k8s import WORKLOAD_KINDS, containers, pod_spec
from _mlops_values import get_path


def has_limit(container: dict[str, Any], resource: str) -> bool:
    value = get_path(container, "resources", "limits", resource)
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return value > 0
    return isinstance(value, str) and bool(value.strip())


class K8sResourceLimits(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure every container and init container sets CPU and memory limits",
            id="CKV_MLOPS_203",
            categories=[CheckCategories.KUBERNETES],
            supported_entities=WORKLOAD_KINDS,
            guideline="Set resources.limits.cpu and resources.limits.memory (and requests) on every container, "
                      "init containers included. See docs/policies.md#ckv_mlops_203",
        )
        self.severity = Severities[BcSeverities.MEDIUM]

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["spec"]
        spec = pod_spec(conf)
        items = containers(spec) if spec is not None else None
        if spec is None or items is None:
            return CheckResult.FAILED
        if all(has_limit(c, "cpu") and has_limit(c, "memory") for c in items):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = K8sResourceLimits()

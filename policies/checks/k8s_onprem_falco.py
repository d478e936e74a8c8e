"""CKV_MLOPS_364: an on-prem stack installs Falco: a ``falco`` Helm release (the pinned chart) whose driver is not
switched off (without a driver Falco sees no system calls).

On-prem no cloud service watches the nodes at runtime (GuardDuty and Defender do on the clouds, CKV_MLOPS_361/362).
Reported on every Namespace of an on-prem stack, judged on the context's ``kubernetes_inventory`` (the chart) and
``detection_inventory`` (its driver values); without them it FAILS. The clouds abstain. What it cannot see: the
chart's rendered DaemonSet and rules (Helm renders them at deploy time).
"""

from __future__ import annotations

from typing import Any

from _mlops_context import PolicyContext, context_for
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

CHART = "falco"


class K8sOnpremFalco(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure an on-prem stack installs Falco runtime threat detection with a driver",
            id="CKV_MLOPS_364",
            categories=[CheckCategories.LOGGING],
            supported_entities=("Namespace",),
            guideline="Keep components/kubernetes/falco.py Falco in the on-prem target: the pinned falco chart "
            "with the modern_ebpf driver. See docs/policies.md#ckv_mlops_364",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["metadata/name"]
        context: PolicyContext | None = context_for(self.entity_path, conf)
        if context is None:
            return CheckResult.FAILED
        if context.target != "onprem":
            return CheckResult.UNKNOWN
        if context.inventory is None or context.detection is None or CHART not in context.inventory.get("charts", []):
            return CheckResult.FAILED
        releases = context.detection.get("falco_releases", [])
        ok = any(r.get("driver_enabled") is True and r.get("driver_kind") for r in releases)
        return CheckResult.PASSED if ok else CheckResult.FAILED


check = K8sOnpremFalco()

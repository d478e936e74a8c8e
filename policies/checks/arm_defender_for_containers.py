"""CKV_MLOPS_362: an Azure stack enables Microsoft Defender for Containers: the subscription's ``Containers``
Defender plan (``Microsoft.Security/pricings``) at the ``Standard`` tier with the ``ContainerSensor`` extension
enabled (runtime threat detection on the AKS nodes).

The plan lives at subscription scope, apart from the cluster, so the check reads the plans the stack sets from the
context's ``detection_inventory`` and reports on each managed cluster. A context without the inventory FAILS; so does
a plan that does not list the sensor (enabled explicitly, not by a service default).
"""

from __future__ import annotations

from typing import Any

from _mlops_context import PolicyContext, context_for
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult

PLAN = "containers"
SENSOR = "ContainerSensor"


def defends_containers(pricing: dict[str, Any]) -> bool:
    if str(pricing.get("name", "")).lower() != PLAN or str(pricing.get("tier", "")).lower() != "standard":
        return False
    return any(
        e.get("name") == SENSOR and str(e.get("is_enabled", "")).lower() == "true"
        for e in pricing.get("extensions", [])
        if isinstance(e, dict)
    )


class ArmDefenderForContainers(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure Defender for Containers (Standard, ContainerSensor) protects the AKS cluster",
            id="CKV_MLOPS_362",
            categories=[CheckCategories.LOGGING],
            supported_resources=["Microsoft.ContainerService/managedClusters"],
            guideline="Keep components/azure/detection.py AzureThreatDetection in the Azure target: the Containers "
            "Defender plan at Standard with the ContainerSensor extension enabled. See "
            "docs/policies.md#ckv_mlops_362",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["name"]
        context: PolicyContext | None = context_for(self.entity_path, conf)
        if context is None or context.detection is None:
            return CheckResult.FAILED
        pricings = context.detection.get("defender_pricings", [])
        return CheckResult.PASSED if any(defends_containers(p) for p in pricings) else CheckResult.FAILED


check = ArmDefenderForContainers()

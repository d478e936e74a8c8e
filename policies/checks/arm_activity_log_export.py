"""CKV_MLOPS_363: an Azure stack exports the subscription's Activity Log: a subscription diagnostic setting with a
destination (Log Analytics workspace, storage account or event hub) that enables every Activity Log category
(each by name, or the ``allLogs`` category group).

The Activity Log records who changed what in the subscription (control-plane operations, security alerts, policy
decisions) and Azure keeps it only 90 days; the export is the audit trail. The setting lives at subscription scope,
so the check reads it from the context's ``detection_inventory`` and reports on each managed cluster. A context
without the inventory FAILS.
"""

from __future__ import annotations

from typing import Any

from _mlops_context import PolicyContext, context_for
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult

CATEGORIES = frozenset(
    {"Administrative", "Security", "ServiceHealth", "Alert", "Recommendation", "Policy", "Autoscale", "ResourceHealth"}
)


def exports_activity_log(setting: dict[str, Any]) -> bool:
    if setting.get("destination") is not True:
        return False
    if "allLogs" in setting.get("category_groups", []):
        return True
    return CATEGORIES <= set(setting.get("categories", []))


class ArmActivityLogExport(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure the subscription's Activity Log is exported (every category, to a destination)",
            id="CKV_MLOPS_363",
            categories=[CheckCategories.LOGGING],
            supported_resources=["Microsoft.ContainerService/managedClusters"],
            guideline="Keep components/azure/detection.py AzureThreatDetection in the Azure target: a subscription "
            "diagnostic setting sending every Activity Log category to the stack's Log Analytics "
            "workspace. See docs/policies.md#ckv_mlops_363",
        )
        self.severity = Severities[BcSeverities.MEDIUM]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["name"]
        context: PolicyContext | None = context_for(self.entity_path, conf)
        if context is None or context.detection is None:
            return CheckResult.FAILED
        settings = context.detection.get("activity_log_settings", [])
        return CheckResult.PASSED if any(exports_activity_log(s) for s in settings) else CheckResult.FAILED


check = ArmActivityLogExport()

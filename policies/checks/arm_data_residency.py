"""CKV_MLOPS_101: every Azure resource with a location is deployed in a location the stack allows.

Compares ``location`` case- and space-insensitively (``UAE North`` == ``uaenorth``). ``global`` (Front Door, DNS,
...) and resources without a location (child and extension resources inherit their parent's) are UNKNOWN (not
reported); an unresolved template expression (``[...]``) or a non-string location FAILS.
"""

from __future__ import annotations

from typing import Any

from _mlops_context import context_for
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult


def normalise_location(location: str) -> str:
    return location.replace(" ", "").lower()


class ArmDataResidency(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure Azure resources are deployed only in the stack's allowed locations (data residency)",
            id="CKV_MLOPS_101",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["*"],
            guideline="Set the resource's location (or the stack's mlops:region) to one of the stack's allowed "
            "locations (default uaenorth); widening the list needs a data-protection review. "
            "See docs/policies.md#ckv_mlops_101",
        )
        self.severity = Severities[BcSeverities.CRITICAL]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["location"]
        if "location" not in conf:
            return CheckResult.UNKNOWN
        location = conf["location"]
        if isinstance(location, str) and normalise_location(location) == "global":
            return CheckResult.UNKNOWN
        context = context_for(self.entity_path, conf)
        if context is None or not isinstance(location, str):
            return CheckResult.FAILED
        allowed = {normalise_location(loc) for loc in context.regions_for("azure")}
        return CheckResult.PASSED if normalise_location(location) in allowed else CheckResult.FAILED


check = ArmDataResidency()

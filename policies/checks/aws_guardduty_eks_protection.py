"""CKV_MLOPS_361: an AWS stack runs Amazon GuardDuty with EKS protection: an enabled detector with the
``EKS_AUDIT_LOGS`` feature and runtime monitoring (``RUNTIME_MONITORING``, or the older ``EKS_RUNTIME_MONITORING``)
whose ``EKS_ADDON_MANAGEMENT`` lets GuardDuty install and update its agent on the clusters.

The detector and its features are resources apart from the cluster, so the check reads them from the context's
``detection_inventory`` (features linked to their detector by the ``detectorId`` dependency) and reports on each
``aws_eks_cluster``. A context without the inventory FAILS.
"""

from __future__ import annotations

from typing import Any

from _mlops_context import PolicyContext, context_for
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

AUDIT_LOGS = "EKS_AUDIT_LOGS"
RUNTIME = ("RUNTIME_MONITORING", "EKS_RUNTIME_MONITORING")
ADDON_MANAGEMENT = "EKS_ADDON_MANAGEMENT"


def _enabled(item: dict[str, Any]) -> bool:
    return str(item.get("status", "")).upper() == "ENABLED"


def protects_eks(detector: dict[str, Any]) -> bool:
    if detector.get("enable") is not True:
        return False
    features = {f.get("name"): f for f in detector.get("features", []) if _enabled(f)}
    if AUDIT_LOGS not in features:
        return False
    return any(
        name in features
        and any(
            c.get("name") == ADDON_MANAGEMENT and _enabled(c)
            for c in features[name].get("additional_configurations", [])
            if isinstance(c, dict)
        )
        for name in RUNTIME
    )


class AwsGuardDutyEksProtection(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure GuardDuty protects the EKS cluster (audit logs, runtime monitoring with managed agent)",
            id="CKV_MLOPS_361",
            categories=[CheckCategories.LOGGING],
            supported_resources=["aws_eks_cluster"],
            guideline="Keep components/aws/detection.py ThreatDetection in the AWS target: an enabled GuardDuty "
            "detector with EKS_AUDIT_LOGS and RUNTIME_MONITORING (EKS_ADDON_MANAGEMENT) enabled. See "
            "docs/policies.md#ckv_mlops_361",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["name"]
        context: PolicyContext | None = context_for(self.entity_path, conf)
        if context is None or context.detection is None:
            return CheckResult.FAILED
        detectors = context.detection.get("guardduty_detectors", [])
        return CheckResult.PASSED if any(protects_eks(d) for d in detectors) else CheckResult.FAILED


check = AwsGuardDutyEksProtection()

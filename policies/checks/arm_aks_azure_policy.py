"""CKV_MLOPS_122: AKS runs the Azure Policy add-on, so cluster admission is audited against the organisation's
policies (pod security baselines, allowed images) in addition to Pod Security Admission.

``properties.addonProfiles.azurepolicy.enabled`` must be true. Checkov checks this for Terraform (CKV_AZURE_116),
not for ARM templates.
"""

from __future__ import annotations

from typing import Any

from _mlops_arm import MANAGED_CLUSTER
from _mlops_values import get_path, is_true
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult


class ArmAksAzurePolicy(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure AKS clusters enable the Azure Policy add-on",
            id="CKV_MLOPS_122",
            categories=[CheckCategories.KUBERNETES],
            supported_resources=[MANAGED_CLUSTER],
            guideline="Set properties.addonProfiles.azurepolicy: {enabled: true, config: {version: v2}}. "
            "See docs/policies.md#ckv_mlops_122",
        )
        self.severity = Severities[BcSeverities.MEDIUM]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/addonProfiles/azurepolicy/enabled"]
        enabled = get_path(conf, "properties", "addonProfiles", "azurepolicy", "enabled")
        return CheckResult.PASSED if is_true(enabled) else CheckResult.FAILED


check = ArmAksAzurePolicy()

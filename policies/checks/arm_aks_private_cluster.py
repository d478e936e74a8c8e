"""CKV_MLOPS_109: AKS clusters are private (``properties.apiServerAccessProfile.enablePrivateCluster: true``).

Missing FAILS (the default is a public API server). Checkov's ARM checks only look at authorised IP ranges
(CKV_AZURE_6), which still leave the endpoint on the internet.
"""

from __future__ import annotations

from typing import Any

from _mlops_arm import MANAGED_CLUSTER
from _mlops_values import get_path, is_true
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult


class ArmAksPrivateCluster(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure AKS clusters are private (no public API server endpoint)",
            id="CKV_MLOPS_109",
            categories=[CheckCategories.NETWORKING],
            supported_resources=[MANAGED_CLUSTER],
            guideline="Set properties.apiServerAccessProfile.enablePrivateCluster: true; reach the API through "
            "the VNet (jump host, VPN or CI runner in the VNet). See docs/policies.md#ckv_mlops_109",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/apiServerAccessProfile/enablePrivateCluster"]
        private = get_path(conf, "properties", "apiServerAccessProfile", "enablePrivateCluster")
        return CheckResult.PASSED if is_true(private) else CheckResult.FAILED


check = ArmAksPrivateCluster()

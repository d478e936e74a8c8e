"""CKV_MLOPS_106: storage accounts accept HTTPS only (``properties.supportsHttpsTrafficOnly: true``, explicitly).

Checkov's CKV_AZURE_3 passes when the property is absent and the API version is 2019 or newer (the service
default); this check wants it stated, so a template cannot silently depend on an API-version default.
"""

from __future__ import annotations

from typing import Any

from _mlops_values import get_path, is_true
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult


class ArmStorageHttpsOnly(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure storage accounts explicitly accept HTTPS traffic only",
            id="CKV_MLOPS_106",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["Microsoft.Storage/storageAccounts"],
            guideline="Set properties.supportsHttpsTrafficOnly: true (enableHttpsTrafficOnly in azure-native). "
            "See docs/policies.md#ckv_mlops_106",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/supportsHttpsTrafficOnly"]
        https_only = get_path(conf, "properties", "supportsHttpsTrafficOnly")
        return CheckResult.PASSED if is_true(https_only) else CheckResult.FAILED


check = ArmStorageHttpsOnly()

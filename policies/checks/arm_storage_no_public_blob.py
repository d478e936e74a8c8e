"""CKV_MLOPS_107: storage accounts forbid anonymous public blob access (``properties.allowBlobPublicAccess: false``).

Missing FAILS (API versions before 2023-01-01 default to allowing it). Checkov's ARM checks do not look at this
property (CKV_AZURE_59 checks publicNetworkAccess, a different control).
"""

from __future__ import annotations

from typing import Any

from _mlops_values import get_path, is_false
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult


class ArmStorageNoPublicBlob(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure storage accounts disallow anonymous public blob access",
            id="CKV_MLOPS_107",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["Microsoft.Storage/storageAccounts"],
            guideline="Set properties.allowBlobPublicAccess: false on the storage account. "
            "See docs/policies.md#ckv_mlops_107",
        )
        self.severity = Severities[BcSeverities.CRITICAL]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/allowBlobPublicAccess"]
        allowed = get_path(conf, "properties", "allowBlobPublicAccess")
        return CheckResult.PASSED if is_false(allowed) else CheckResult.FAILED


check = ArmStorageNoPublicBlob()

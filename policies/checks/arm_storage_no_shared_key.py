"""CKV_MLOPS_120: storage accounts refuse shared-key (account key and SAS) authorisation.

``properties.allowSharedKeyAccess`` must be false, stated explicitly (the service default is true), so every
request is authorised by Entra ID and RBAC and shows up with its identity in the logs. Checkov's ARM checks do not
look at it.
"""

from __future__ import annotations

from typing import Any

from _mlops_values import get_path, is_false
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult


class ArmStorageNoSharedKey(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure storage accounts disable shared key authorisation (Entra ID only)",
            id="CKV_MLOPS_120",
            categories=[CheckCategories.IAM],
            supported_resources=["Microsoft.Storage/storageAccounts"],
            guideline="Set properties.allowSharedKeyAccess: false; grant Storage Blob Data roles to identities. "
            "See docs/policies.md#ckv_mlops_120",
        )
        self.severity = Severities[BcSeverities.MEDIUM]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/allowSharedKeyAccess"]
        return (
            CheckResult.PASSED if is_false(get_path(conf, "properties", "allowSharedKeyAccess")) else CheckResult.FAILED
        )


check = ArmStorageNoSharedKey()

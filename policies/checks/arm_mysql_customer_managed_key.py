"""CKV_MLOPS_126: MySQL flexible servers encrypt their data with a customer-managed key.

``properties.dataEncryption.type`` must be ``AzureKeyVault`` with a ``primaryKeyURI``; absent or ``SystemManaged``
FAILS. Checkov's CKV_AZURE_96 looks for a lower-case ``dataencryption`` key that ARM templates do not use, so it
cannot pass on a correctly encrypted server.
"""

from __future__ import annotations

from typing import Any

from _mlops_values import as_text, get_path
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult


class ArmMysqlCustomerManagedKey(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure MySQL flexible servers encrypt data with a customer-managed key",
            id="CKV_MLOPS_126",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["Microsoft.DBforMySQL/flexibleServers"],
            guideline="Set properties.dataEncryption.type: AzureKeyVault with the stack's Key Vault key and a "
            "user-assigned identity allowed to use it. See docs/policies.md#ckv_mlops_126",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/dataEncryption/type", "properties/dataEncryption/primaryKeyURI"]
        kind = as_text(get_path(conf, "properties", "dataEncryption", "type"))
        key = as_text(get_path(conf, "properties", "dataEncryption", "primaryKeyURI"))
        return CheckResult.PASSED if kind == "AzureKeyVault" and key else CheckResult.FAILED


check = ArmMysqlCustomerManagedKey()

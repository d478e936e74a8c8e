"""CKV_MLOPS_110: storage accounts double-encrypt at rest (``properties.encryption.requireInfrastructureEncryption``).

Infrastructure encryption adds a second, platform-keyed AES-256 layer under the service (CMK) layer; it can only
be chosen when the account is created, so the gate must catch it before. Missing FAILS. Checkov's ARM checks do
not look at this property.
"""

from __future__ import annotations

from typing import Any

from _mlops_values import get_path, is_true
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult


class ArmStorageInfrastructureEncryption(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure storage accounts enable infrastructure (double) encryption",
            id="CKV_MLOPS_110",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["Microsoft.Storage/storageAccounts"],
            guideline="Set properties.encryption.requireInfrastructureEncryption: true when creating the account "
            "(it cannot be turned on later: recreate and copy the data). See docs/policies.md#ckv_mlops_110",
        )
        self.severity = Severities[BcSeverities.MEDIUM]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/encryption/requireInfrastructureEncryption"]
        required = get_path(conf, "properties", "encryption", "requireInfrastructureEncryption")
        return CheckResult.PASSED if is_true(required) else CheckResult.FAILED


check = ArmStorageInfrastructureEncryption()

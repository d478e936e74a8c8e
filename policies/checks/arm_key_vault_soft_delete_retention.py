"""CKV_MLOPS_123: deleted Key Vault keys and secrets stay recoverable for 90 days.

``properties.enableSoftDelete`` must not be false and ``properties.softDeleteRetentionInDays`` at least 90 (the
service's default and maximum; absent means 90). A shorter window shortens the time to notice a destroyed
customer-managed key before the data it protects is lost for good. Checkov's ARM checks only ask for soft delete.
"""

from __future__ import annotations

from typing import Any

from _mlops_values import get_path, is_false
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult

MIN_RETENTION_DAYS = 90


class ArmKeyVaultSoftDeleteRetention(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure Key Vault soft delete keeps deleted objects for 90 days",
            id="CKV_MLOPS_123",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=["Microsoft.KeyVault/vaults"],
            guideline="Keep enableSoftDelete true and set softDeleteRetentionInDays: 90 on the vault. "
            "See docs/policies.md#ckv_mlops_123",
        )
        self.severity = Severities[BcSeverities.MEDIUM]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/enableSoftDelete", "properties/softDeleteRetentionInDays"]
        if is_false(get_path(conf, "properties", "enableSoftDelete")):
            return CheckResult.FAILED
        days = get_path(conf, "properties", "softDeleteRetentionInDays")
        if days is None:
            return CheckResult.PASSED
        if isinstance(days, bool) or not isinstance(days, (int, float)):
            return CheckResult.FAILED
        return CheckResult.PASSED if days >= MIN_RETENTION_DAYS else CheckResult.FAILED


check = ArmKeyVaultSoftDeleteRetention()

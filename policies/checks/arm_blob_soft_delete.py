"""CKV_MLOPS_113: blob services keep deleted blobs and containers recoverable (soft delete).

``properties.deleteRetentionPolicy.enabled`` and ``containerDeleteRetentionPolicy.enabled`` must be true on
``Microsoft.Storage/storageAccounts/blobServices``. Checkov's ARM checks do not look at blob soft delete.
"""

from __future__ import annotations

from typing import Any

from _mlops_values import get_path, is_true
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult


class ArmBlobSoftDelete(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure blob and container soft delete are enabled on storage blob services",
            id="CKV_MLOPS_113",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=["Microsoft.Storage/storageAccounts/blobServices"],
            guideline="Set properties.deleteRetentionPolicy and containerDeleteRetentionPolicy to "
            "{enabled: true, days: 30} on the account's blobServices/default. "
            "See docs/policies.md#ckv_mlops_113",
        )
        self.severity = Severities[BcSeverities.MEDIUM]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = [
            "properties/deleteRetentionPolicy/enabled",
            "properties/containerDeleteRetentionPolicy/enabled",
        ]
        properties = get_path(conf, "properties")
        if is_true(get_path(properties, "deleteRetentionPolicy", "enabled")) and is_true(
            get_path(properties, "containerDeleteRetentionPolicy", "enabled")
        ):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = ArmBlobSoftDelete()

"""CKV_MLOPS_105: storage accounts refuse TLS below 1.2 (``properties.minimumTlsVersion`` TLS1_2 or TLS1_3).

Missing FAILS: older API versions default to TLS1_0. Overlaps Checkov's CKV_AZURE_44 on purpose: the gate's
compliance mapping and mutation tests name this id, and it accepts TLS1_3.
"""

from __future__ import annotations

from typing import Any

from _mlops_values import get_path
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult

ALLOWED_TLS = ("TLS1_2", "TLS1_3")


class ArmStorageMinTls(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure storage accounts require TLS 1.2 or newer",
            id="CKV_MLOPS_105",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["Microsoft.Storage/storageAccounts"],
            guideline="Set properties.minimumTlsVersion: TLS1_2 on the storage account. "
            "See docs/policies.md#ckv_mlops_105",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/minimumTlsVersion"]
        version = get_path(conf, "properties", "minimumTlsVersion")
        return CheckResult.PASSED if version in ALLOWED_TLS else CheckResult.FAILED


check = ArmStorageMinTls()

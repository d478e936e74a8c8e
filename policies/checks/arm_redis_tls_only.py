"""CKV_MLOPS_115: Azure Cache for Redis accepts TLS 1.2+ connections only.

``properties.enableNonSslPort`` must be false and ``properties.minimumTlsVersion`` ``1.2`` (or newer), both stated
explicitly: older API versions default to TLS 1.0. Checkov's ARM checks only look at Redis public network access
(CKV_AZURE_89).
"""

from __future__ import annotations

from typing import Any

from _mlops_values import as_text, get_path, is_false
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult

ALLOWED_TLS = ("1.2", "1.3")


class ArmRedisTlsOnly(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure Azure Cache for Redis disables the non-TLS port and requires TLS 1.2 or newer",
            id="CKV_MLOPS_115",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["Microsoft.Cache/redis"],
            guideline="Set properties.enableNonSslPort: false and properties.minimumTlsVersion: '1.2' on the cache. "
            "See docs/policies.md#ckv_mlops_115",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/enableNonSslPort", "properties/minimumTlsVersion"]
        non_tls_off = is_false(get_path(conf, "properties", "enableNonSslPort"))
        tls = as_text(get_path(conf, "properties", "minimumTlsVersion"))
        return CheckResult.PASSED if non_tls_off and tls in ALLOWED_TLS else CheckResult.FAILED


check = ArmRedisTlsOnly()

"""CKV_MLOPS_116: PostgreSQL flexible servers refuse connections without TLS 1.2+.

On ``Microsoft.DBforPostgreSQL/flexibleServers/configurations``: ``require_secure_transport`` must be ``on`` and
``ssl_min_protocol_version`` ``TLSv1.2`` or ``TLSv1.3``; other server parameters are not this check's (UNKNOWN, not
reported). Checkov's PostgreSQL checks read the retired single-server type (``servers``) only.
"""

from __future__ import annotations

from typing import Any

from _mlops_values import as_text, get_path
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult

REQUIRED = {
    "require_secure_transport": ("on",),
    "ssl_min_protocol_version": ("tlsv1.2", "tlsv1.3"),
}


class ArmPostgresTlsRequired(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure PostgreSQL flexible servers require TLS 1.2 or newer",
            id="CKV_MLOPS_116",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["Microsoft.DBforPostgreSQL/flexibleServers/configurations"],
            guideline="Set the server parameters require_secure_transport = on and ssl_min_protocol_version = "
            "TLSv1.2. See docs/policies.md#ckv_mlops_116",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["name", "properties/value"]
        parameter = as_text(get_path(conf, "name")).rsplit("/", 1)[-1].lower()
        allowed = REQUIRED.get(parameter)
        if allowed is None:
            return CheckResult.UNKNOWN
        value = as_text(get_path(conf, "properties", "value")).strip().lower()
        return CheckResult.PASSED if value in allowed else CheckResult.FAILED


check = ArmPostgresTlsRequired()

"""CKV_MLOPS_124: MySQL flexible servers refuse connections without TLS 1.2+.

On ``Microsoft.DBforMySQL/flexibleServers/configurations``: ``require_secure_transport`` must be ``ON`` and
``tls_version`` may list only ``TLSv1.2`` / ``TLSv1.3``; other server parameters are not this check's (UNKNOWN, not
reported). Checkov's MySQL TLS checks read the retired single-server type (``servers``) only.
"""

from __future__ import annotations

from typing import Any

from _mlops_values import as_text, get_path
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult

MODERN_TLS = {"tlsv1.2", "tlsv1.3"}


class ArmMysqlTlsRequired(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure MySQL flexible servers require TLS 1.2 or newer",
            id="CKV_MLOPS_124",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["Microsoft.DBforMySQL/flexibleServers/configurations"],
            guideline="Set the server parameters require_secure_transport = ON and tls_version = TLSv1.2 (and/or "
            "TLSv1.3). See docs/policies.md#ckv_mlops_124",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["name", "properties/value"]
        parameter = as_text(get_path(conf, "name")).rsplit("/", 1)[-1].lower()
        value = as_text(get_path(conf, "properties", "value")).strip().lower()
        if parameter == "require_secure_transport":
            return CheckResult.PASSED if value == "on" else CheckResult.FAILED
        if parameter == "tls_version":
            versions = {v.strip() for v in value.split(",") if v.strip()}
            return CheckResult.PASSED if versions and versions <= MODERN_TLS else CheckResult.FAILED
        return CheckResult.UNKNOWN


check = ArmMysqlTlsRequired()

"""CKV_MLOPS_125: MySQL flexible servers are reachable only from their virtual network.

``properties.network.publicNetworkAccess`` must be ``Disabled`` (VNet integration through a delegated subnet, or
private endpoints). Absent FAILS: the service decides it from how the server was created. Checkov's MySQL
public-access checks read the retired single-server type only.
"""

from __future__ import annotations

from typing import Any

from _mlops_values import as_text, get_path
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult


class ArmMysqlPrivateAccess(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure MySQL flexible servers disable public network access",
            id="CKV_MLOPS_125",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["Microsoft.DBforMySQL/flexibleServers"],
            guideline="Set properties.network.publicNetworkAccess: Disabled and integrate the server with a delegated "
            "subnet and a private DNS zone. See docs/policies.md#ckv_mlops_125",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/network/publicNetworkAccess"]
        access = as_text(get_path(conf, "properties", "network", "publicNetworkAccess"))
        return CheckResult.PASSED if access == "Disabled" else CheckResult.FAILED


check = ArmMysqlPrivateAccess()

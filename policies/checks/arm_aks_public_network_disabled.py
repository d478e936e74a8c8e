"""CKV_MLOPS_121: the AKS cluster's resource disables public network access.

``properties.publicNetworkAccess`` must be ``Disabled``, stated explicitly: with a private API server
(CKV_MLOPS_109) this also keeps the cluster's public FQDN path closed. Checkov's ARM checks do not read it.
"""

from __future__ import annotations

from typing import Any

from _mlops_arm import MANAGED_CLUSTER
from _mlops_values import as_text, get_path
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult


class ArmAksPublicNetworkDisabled(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure AKS clusters disable public network access",
            id="CKV_MLOPS_121",
            categories=[CheckCategories.NETWORKING],
            supported_resources=[MANAGED_CLUSTER],
            guideline="Set properties.publicNetworkAccess: Disabled on the cluster (with a private API server). "
            "See docs/policies.md#ckv_mlops_121",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/publicNetworkAccess"]
        access = as_text(get_path(conf, "properties", "publicNetworkAccess"))
        return CheckResult.PASSED if access == "Disabled" else CheckResult.FAILED


check = ArmAksPublicNetworkDisabled()

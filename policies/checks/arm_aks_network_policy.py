"""CKV_MLOPS_302: AKS runs a NetworkPolicy engine, so the platform's default-deny and egress policies are enforced.

``properties.networkProfile.networkPolicy`` must be ``calico``, ``cilium`` or ``azure``; absent or ``none`` (the
AKS default) leaves every NetworkPolicy inert.
"""

from __future__ import annotations

from typing import Any

from _mlops_arm import MANAGED_CLUSTER
from _mlops_values import get_path
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult

ENGINES = ("calico", "cilium", "azure")


class ArmAksNetworkPolicy(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure AKS clusters enforce NetworkPolicy (networkProfile.networkPolicy calico, cilium or azure)",
            id="CKV_MLOPS_302",
            categories=[CheckCategories.NETWORKING],
            supported_resources=[MANAGED_CLUSTER],
            guideline="Set properties.networkProfile.networkPolicy to calico (components/azure/aks.py "
            "AksClusterArgs.network_policy). See docs/policies.md#ckv_mlops_302",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/networkProfile/networkPolicy"]
        engine = get_path(conf, "properties", "networkProfile", "networkPolicy")
        return CheckResult.PASSED if isinstance(engine, str) and engine.lower() in ENGINES else CheckResult.FAILED


check = ArmAksNetworkPolicy()

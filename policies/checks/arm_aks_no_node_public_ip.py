"""CKV_MLOPS_118: no AKS node has a public IP address.

Checks every inline ``agentPoolProfiles`` entry and every ``agentPools`` resource: ``enableNodePublicIP`` must not be
true (absent means false). Nodes stay on the private subnet; egress goes through the cluster's outbound path.
Checkov's ARM checks do not look at node public IPs. A cluster with no inline profiles is UNKNOWN (its pools are
checked as their own resources).
"""

from __future__ import annotations

from typing import Any

from _mlops_arm import AGENT_POOL, MANAGED_CLUSTER, agent_pools
from _mlops_values import is_true
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult


class ArmAksNoNodePublicIp(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure AKS node pools give their nodes no public IP addresses",
            id="CKV_MLOPS_118",
            categories=[CheckCategories.NETWORKING],
            supported_resources=[MANAGED_CLUSTER, AGENT_POOL],
            guideline="Set enableNodePublicIP: false (or leave it out) on every pool. "
            "See docs/policies.md#ckv_mlops_118",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/enableNodePublicIP", "properties/agentPoolProfiles"]
        pools = agent_pools(conf, self.entity_type)
        if pools is None:
            return CheckResult.FAILED
        if not pools:
            return CheckResult.UNKNOWN
        return CheckResult.FAILED if any(is_true(p.get("enableNodePublicIP")) for p in pools) else CheckResult.PASSED


check = ArmAksNoNodePublicIp()

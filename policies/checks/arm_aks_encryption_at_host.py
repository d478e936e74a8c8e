"""CKV_MLOPS_104: every AKS pool encrypts at host (temp disks, caches, data flows to storage).

Checks every inline ``agentPoolProfiles`` entry and every ``agentPools`` resource; Checkov's CKV_AZURE_227 only
looks at the first inline profile, so a second (GPU) pool without it goes unnoticed there. A cluster with no
inline profiles is UNKNOWN (its pools are checked as their own resources).
"""

from __future__ import annotations

from typing import Any

from _mlops_arm import AGENT_POOL, MANAGED_CLUSTER, agent_pools
from _mlops_values import is_true
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult


class ArmAksEncryptionAtHost(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure every AKS node pool enables encryption at host",
            id="CKV_MLOPS_104",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=[MANAGED_CLUSTER, AGENT_POOL],
            guideline="Set enableEncryptionAtHost: true on every pool (register the EncryptionAtHost feature on "
            "the subscription first). See docs/policies.md#ckv_mlops_104",
        )
        self.severity = Severities[BcSeverities.MEDIUM]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/enableEncryptionAtHost", "properties/agentPoolProfiles"]
        pools = agent_pools(conf, self.entity_type)
        if pools is None:
            return CheckResult.FAILED
        if not pools:
            return CheckResult.UNKNOWN
        if all(is_true(pool.get("enableEncryptionAtHost")) for pool in pools):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = ArmAksEncryptionAtHost()

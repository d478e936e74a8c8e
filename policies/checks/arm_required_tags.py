"""CKV_MLOPS_102: every taggable Azure resource carries the stack's required tags, each with a non-empty value.

Taggable: a top-level resource type (``Namespace/type``) other than the untaggable extension resources below,
any resource that has a ``tags`` key, and AKS agent pools (tags under ``properties.tags``, which the pool's VM scale
set inherits for cost tracking). Other child resources are UNKNOWN (not reported).
"""

from __future__ import annotations

from typing import Any

from _mlops_arm import AGENT_POOL
from _mlops_context import context_for
from _mlops_values import clean_map, get_path, has_text
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult

UNTAGGABLE_PREFIXES = (
    "microsoft.authorization/",
    "microsoft.insights/diagnosticsettings",
    "microsoft.security/pricings",
)
"""Top-level types whose API has no ``tags`` (Defender plans are subscription settings)."""


def is_taggable(resource_type: str, conf: dict[str, Any]) -> bool:
    if "tags" in conf or resource_type == AGENT_POOL:
        return True
    return resource_type.count("/") == 1 and not resource_type.lower().startswith(UNTAGGABLE_PREFIXES)


class ArmRequiredTags(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure taggable Azure resources carry the required tags (owner, cost-center, data-classification)",
            id="CKV_MLOPS_102",
            categories=[CheckCategories.CONVENTION],
            supported_resources=["*"],
            guideline="Set the stack's mlops:tags (owner, cost-center, data-classification and any the stack "
            "requires) so every resource gets them, or add the missing tag to the resource's tags "
            "(properties.tags for agent pools). See docs/policies.md#ckv_mlops_102",
        )
        self.severity = Severities[BcSeverities.LOW]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        resource_type = self.entity_type if isinstance(self.entity_type, str) else ""
        if not is_taggable(resource_type, conf):
            return CheckResult.UNKNOWN
        context = context_for(self.entity_path, conf)
        if context is None:
            return CheckResult.FAILED
        if resource_type == AGENT_POOL:
            self.evaluated_keys = ["properties/tags", "tags"]
            tags = {**clean_map(conf.get("tags")), **clean_map(get_path(conf, "properties", "tags"))}
        else:
            self.evaluated_keys = ["tags"]
            tags = clean_map(conf.get("tags"))
        missing = [name for name in context.required_tags if not has_text(tags.get(name))]
        return CheckResult.FAILED if missing else CheckResult.PASSED


check = ArmRequiredTags()

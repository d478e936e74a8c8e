"""CKV_MLOPS_002: every taggable AWS resource carries the stack's required tags, each with a non-empty value.

Taggable: the Terraform type is in Checkov's own ``aws_taggable`` list, or the resource has a ``tags`` /
``tags_all`` attribute. Tags count from ``tags`` and ``tags_all`` (provider default tags land in ``tags_all``).
Other resources are UNKNOWN (not reported).
"""

from __future__ import annotations

from typing import Any

from _mlops_context import context_for
from _mlops_values import clean_map, has_text
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.checks_infra.resources_types import resources_types
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

AWS_TAGGABLE = frozenset(resources_types.get("aws_taggable", ()))


class AwsRequiredTags(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure taggable AWS resources carry the required tags (owner, cost-center, data-classification)",
            id="CKV_MLOPS_002",
            categories=[CheckCategories.CONVENTION],
            supported_resources=["aws_*"],
            guideline="Set the stack's mlops:tags (owner, cost-center, data-classification and any the stack "
            "requires) so every resource inherits them, or add the missing tag to the resource's tags. "
            "See docs/policies.md#ckv_mlops_002",
        )
        self.severity = Severities[BcSeverities.LOW]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["tags", "tags_all"]
        if self.entity_type not in AWS_TAGGABLE and "tags" not in conf and "tags_all" not in conf:
            return CheckResult.UNKNOWN
        context = context_for(self.entity_path, conf)
        if context is None:
            return CheckResult.FAILED
        tags = {**clean_map(conf.get("tags_all")), **clean_map(conf.get("tags"))}
        missing = [name for name in context.required_tags if not has_text(tags.get(name))]
        return CheckResult.FAILED if missing else CheckResult.PASSED


check = AwsRequiredTags()

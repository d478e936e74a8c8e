"""CKV_MLOPS_001: every regional AWS resource is planned in a region the stack allows (data residency).

Reads the per-resource ``region`` attribute of the Terraform AWS provider v6 plan. Global services that have no
region (IAM, Route 53, CloudFront, Organizations, ...) are UNKNOWN (not reported); a regional resource with no
region, an empty one, or one outside the allowed list FAILS.
"""

from __future__ import annotations

from typing import Any

from _mlops_context import context_for
from _mlops_values import tf_value
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

GLOBAL_PREFIXES = (
    "aws_iam_",
    "aws_route53_",
    "aws_cloudfront_",
    "aws_organizations_",
    "aws_budgets_",
    "aws_ce_",
    "aws_globalaccelerator_",
    "aws_shield_",
    "aws_account_",
    "aws_networkmanager_",
)
"""Terraform types of global AWS services: they have no ``region`` attribute in provider v6."""
REGIONAL_EXCEPTIONS = ("aws_route53_resolver_", "aws_route53_recovery_")


class AwsDataResidency(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure AWS resources are created only in the stack's allowed regions (data residency)",
            id="CKV_MLOPS_001",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_*"],
            guideline="Set the resource's region (or the stack's mlops:region) to one of the stack's allowed "
            "regions (default me-central-1); widening the list needs a data-protection review. "
            "See docs/policies.md#ckv_mlops_001",
        )
        self.severity = Severities[BcSeverities.CRITICAL]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["region"]
        if self.entity_type.startswith(GLOBAL_PREFIXES) and not self.entity_type.startswith(REGIONAL_EXCEPTIONS):
            return CheckResult.UNKNOWN
        context = context_for(self.entity_path, conf)
        region = tf_value(conf, "region")
        if context is None or not isinstance(region, str):
            return CheckResult.FAILED
        allowed = {r.lower() for r in context.regions_for("aws")}
        return CheckResult.PASSED if region.strip().lower() in allowed else CheckResult.FAILED


check = AwsDataResidency()

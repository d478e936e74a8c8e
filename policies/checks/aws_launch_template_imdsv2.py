"""CKV_MLOPS_004: node launch templates require IMDSv2 (session tokens), so pods cannot replay IMDSv1 requests
to steal the node role's credentials. FAILS when ``metadata_options`` is missing or ``http_tokens`` is not
``required``."""

from __future__ import annotations

from typing import Any

from _mlops_values import tf_blocks, tf_value
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class AwsLaunchTemplateImdsv2(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure node launch templates require IMDSv2 (metadata_options.http_tokens = required)",
            id="CKV_MLOPS_004",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_launch_template"],
            guideline='Set metadata_options { http_tokens = "required" } on the launch template (the AWS node '
            "group component does this unless its IMDSv1 opt-out is set). See docs/policies.md#ckv_mlops_004",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["metadata_options/[0]/http_tokens"]
        options = tf_blocks(conf, "metadata_options")
        if options and all(tf_value(o, "http_tokens") == "required" for o in options):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = AwsLaunchTemplateImdsv2()

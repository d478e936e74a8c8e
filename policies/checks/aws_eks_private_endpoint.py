"""CKV_MLOPS_007: the EKS API endpoint is private only (``vpc_config.endpoint_public_access = false``).

Terraform's default for ``endpoint_public_access`` is true, so a missing ``vpc_config`` or attribute FAILS.
"""

from __future__ import annotations

from typing import Any

from _mlops_values import is_false, is_true, tf_blocks, tf_value
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class AwsEksPrivateEndpoint(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure the EKS cluster API endpoint is private (no public endpoint)",
            id="CKV_MLOPS_007",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["aws_eks_cluster"],
            guideline="Set vpc_config { endpoint_public_access = false, endpoint_private_access = true }; reach "
            "the API through the VPC (bastion, VPN or CI runner in the VPC). "
            "See docs/policies.md#ckv_mlops_007",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["vpc_config/[0]/endpoint_public_access", "vpc_config/[0]/endpoint_private_access"]
        configs = tf_blocks(conf, "vpc_config")
        if configs and all(
            is_false(tf_value(c, "endpoint_public_access")) and is_true(tf_value(c, "endpoint_private_access"))
            for c in configs
        ):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = AwsEksPrivateEndpoint()

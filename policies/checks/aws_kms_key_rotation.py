"""CKV_MLOPS_006: symmetric KMS keys rotate automatically, at least yearly.

``enable_key_rotation`` must be true, and ``rotation_period_in_days``, when set, at most 365. Asymmetric and HMAC
keys (``customer_master_key_spec`` other than SYMMETRIC_DEFAULT) cannot rotate automatically: UNKNOWN (not
reported). Stricter than Checkov's CKV_AWS_7, which does not bound the period.
"""

from __future__ import annotations

from typing import Any

from _mlops_values import is_true, tf_value
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

MAX_ROTATION_DAYS = 365


class AwsKmsKeyRotation(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure KMS keys rotate automatically at least every 365 days",
            id="CKV_MLOPS_006",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_kms_key"],
            guideline="Set enable_key_rotation = true on the key (rotation_period_in_days <= 365 if set). "
            "See docs/policies.md#ckv_mlops_006",
        )
        self.severity = Severities[BcSeverities.MEDIUM]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["enable_key_rotation", "rotation_period_in_days"]
        spec = tf_value(conf, "customer_master_key_spec")
        if isinstance(spec, str) and spec and spec != "SYMMETRIC_DEFAULT":
            return CheckResult.UNKNOWN
        if not is_true(tf_value(conf, "enable_key_rotation")):
            return CheckResult.FAILED
        period = tf_value(conf, "rotation_period_in_days")
        if period is None:
            return CheckResult.PASSED
        if isinstance(period, bool) or not isinstance(period, (int, float)) or period > MAX_ROTATION_DAYS:
            return CheckResult.FAILED
        return CheckResult.PASSED


check = AwsKmsKeyRotation()

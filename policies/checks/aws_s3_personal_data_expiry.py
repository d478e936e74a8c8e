"""CKV_MLOPS_381: an S3 bucket holding personal data expires its current objects (storage limitation).

A bucket tagged ``purpose: data`` or ``purpose: artifacts`` (training datasets, features, pipeline artifacts) needs
an ``aws_s3_bucket_lifecycle_configuration`` with an enabled whole-bucket rule ``expiration.days`` in [1, 3650].
The lifecycle configuration is another resource, read from the stack's ``storage_inventory`` by bucket name; an
unreadable context or one without the inventory FAILS. Other buckets (models under WORM, logs) PASS.
"""

from __future__ import annotations

from typing import Any

from _mlops_context import context_for
from _mlops_storage import personal_data, s3_rules_expire
from _mlops_values import tf_value
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class AwsS3PersonalDataExpiry(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure S3 buckets holding personal data expire current objects after the declared retention",
            id="CKV_MLOPS_381",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_s3_bucket"],
            guideline="Set expireAfterDays on the bucket (mlops:buckets[]; default 365 for data/artifacts buckets) so "
            "SecureBucket adds expiration.days to its lifecycle rule. See docs/policies.md#ckv_mlops_381",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["tags", "bucket"]
        if not personal_data(tf_value(conf, "tags")):
            return CheckResult.PASSED
        context = context_for(self.entity_path, conf)
        if context is None or context.storage is None:
            return CheckResult.FAILED
        rules = context.storage.get("s3_lifecycle", {}).get(str(tf_value(conf, "bucket")))
        return CheckResult.PASSED if s3_rules_expire(rules) else CheckResult.FAILED


check = AwsS3PersonalDataExpiry()

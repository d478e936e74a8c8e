"""CKV_MLOPS_009: an S3 bucket policy denies every request not made over TLS.

The ``policy`` document needs a statement with ``Effect: Deny``, every principal (``"*"`` or ``{"AWS": "*"}``),
all S3 actions (``s3:*`` or ``*``) and the condition ``Bool: {aws:SecureTransport: false}``. Checkov's CKV_AWS_379
looks for this only on ``aws_s3_bucket_acl``, so a bucket policy that drops the statement passes every built-in.
A policy that is not a JSON object FAILS.
"""

from __future__ import annotations

import json
from typing import Any

from _mlops_values import as_text, tf_value
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _denies_plain_http(statement: Any) -> bool:
    if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
        return False
    principal = statement.get("Principal")
    if not (principal == "*" or (isinstance(principal, dict) and "*" in _listed(principal.get("AWS")))):
        return False
    if not {"s3:*", "*"} & {a for a in _listed(statement.get("Action")) if isinstance(a, str)}:
        return False
    condition = statement.get("Condition")
    bool_condition = condition.get("Bool") if isinstance(condition, dict) else None
    return isinstance(bool_condition, dict) and as_text(bool_condition.get("aws:SecureTransport")).lower() == "false"


class AwsS3BucketPolicyTlsOnly(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure S3 bucket policies deny requests that are not made over TLS",
            id="CKV_MLOPS_009",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_s3_bucket_policy"],
            guideline='Add the statement {Effect: Deny, Principal: "*", Action: "s3:*", Resource: [bucket ARN, '
            'bucket ARN/*], Condition: {Bool: {aws:SecureTransport: "false"}}} to the bucket policy. '
            "See docs/policies.md#ckv_mlops_009",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["policy"]
        policy = tf_value(conf, "policy")
        if isinstance(policy, str):
            try:
                policy = json.loads(policy)
            except ValueError:
                return CheckResult.FAILED
        if not isinstance(policy, dict):
            return CheckResult.FAILED
        statements = _listed(policy.get("Statement"))
        return CheckResult.PASSED if any(_denies_plain_http(s) for s in statements) else CheckResult.FAILED


check = AwsS3BucketPolicyTlsOnly()

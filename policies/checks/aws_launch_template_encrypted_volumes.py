"""CKV_MLOPS_005: node launch templates encrypt every EBS volume with a customer-managed KMS key.

Every ``block_device_mappings`` entry with an ``ebs`` block needs ``encrypted = true`` and a ``kms_key_id``.
A template with no EBS mapping at all FAILS: its root volume would follow the AMI's default, which is not proven
encrypted. Mappings without ``ebs`` (instance-store, ``no_device``) are not volumes and are skipped.
"""

from __future__ import annotations

from typing import Any

from _mlops_values import has_text, is_true, tf_blocks, tf_value
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class AwsLaunchTemplateEncryptedVolumes(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure node launch templates encrypt all EBS volumes with a KMS key",
            id="CKV_MLOPS_005",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_launch_template"],
            guideline="Give the launch template a block_device_mappings entry for the root device with "
            "ebs { encrypted = true, kms_key_id = <the stack's CMK> }, and the same for every other EBS "
            "volume. See docs/policies.md#ckv_mlops_005",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["block_device_mappings"]
        volumes = [ebs for mapping in tf_blocks(conf, "block_device_mappings") for ebs in tf_blocks(mapping, "ebs")]
        if volumes and all(is_true(tf_value(v, "encrypted")) and has_text(tf_value(v, "kms_key_id")) for v in volumes):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = AwsLaunchTemplateEncryptedVolumes()

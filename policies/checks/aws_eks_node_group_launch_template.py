"""CKV_MLOPS_008: every EKS managed node group boots from a launch template.

Without one, EKS uses its default template, which allows IMDSv1 and leaves root-volume encryption to account
defaults, so CKV_MLOPS_004/005 would have nothing to check. Needs a ``launch_template`` block naming a template
(``id`` or ``name``) and a ``version``. Checkov has no built-in check for this.
"""

from __future__ import annotations

from typing import Any

from _mlops_values import has_text, tf_blocks, tf_value
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class AwsEksNodeGroupLaunchTemplate(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure EKS node groups use a launch template (so IMDSv2 and volume encryption are enforced)",
            id="CKV_MLOPS_008",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_eks_node_group"],
            guideline="Give the node group launch_template { id (or name), version } pointing at a template that "
            "requires IMDSv2 and encrypts its volumes with KMS. See docs/policies.md#ckv_mlops_008",
        )
        self.severity = Severities[BcSeverities.MEDIUM]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["launch_template"]
        for template in tf_blocks(conf, "launch_template"):
            named = has_text(tf_value(template, "id")) or has_text(tf_value(template, "name"))
            version = tf_value(template, "version")
            if named and has_text(version):
                return CheckResult.PASSED
        return CheckResult.FAILED


check = AwsEksNodeGroupLaunchTemplate()

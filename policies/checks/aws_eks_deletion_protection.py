"""CKV_MLOPS_010: EKS clusters cannot be deleted by accident (``deletion_protection = true``).

Deleting the cluster deletes every workload, its secrets and its service-account identities at once. Terraform's
default is false, so a missing attribute FAILS. Checkov has no check for it (CKV_AWS_293 covers RDS only).
"""

from __future__ import annotations

from typing import Any

from _mlops_values import is_true, tf_value
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class AwsEksDeletionProtection(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure EKS clusters have deletion protection",
            id="CKV_MLOPS_010",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=["aws_eks_cluster"],
            guideline="Set deletion_protection = true on the cluster (EksClusterArgs.deletion_protection). "
            "See docs/policies.md#ckv_mlops_010",
        )
        self.severity = Severities[BcSeverities.MEDIUM]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["deletion_protection"]
        return CheckResult.PASSED if is_true(tf_value(conf, "deletion_protection")) else CheckResult.FAILED


check = AwsEksDeletionProtection()

"""CKV_MLOPS_112: AKS clusters authenticate with Entra ID and authorise with Azure RBAC.

``properties.aadProfile.managed`` and ``aadProfile.enableAzureRBAC`` must be true, so access to the cluster is
granted to the enterprise IdP groups by role assignment, not by Kubernetes-local credentials. Checkov's ARM
CKV_AZURE_5 only checks Kubernetes RBAC (``enableRBAC``); CKV_AZURE_141 covers local accounts.
"""

from __future__ import annotations

from typing import Any

from _mlops_arm import MANAGED_CLUSTER
from _mlops_values import get_path, is_true
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult


class ArmAksEntraIdRbac(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure AKS clusters use Entra ID authentication with Azure RBAC",
            id="CKV_MLOPS_112",
            categories=[CheckCategories.IAM],
            supported_resources=[MANAGED_CLUSTER],
            guideline="Set properties.aadProfile {managed: true, enableAzureRBAC: true} and bind the IdP groups "
            "with role assignments. See docs/policies.md#ckv_mlops_112",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/aadProfile/managed", "properties/aadProfile/enableAzureRBAC"]
        profile = get_path(conf, "properties", "aadProfile")
        if is_true(get_path(profile, "managed")) and is_true(get_path(profile, "enableAzureRBAC")):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = ArmAksEntraIdRbac()

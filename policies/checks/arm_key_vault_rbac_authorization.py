"""CKV_MLOPS_114: Key Vaults authorise data-plane access with Azure RBAC (``properties.enableRbacAuthorization``).

Access policies are per-vault lists outside the organisation's role model and audit; RBAC ties key and secret
access to the IdP groups. Missing FAILS (the default is access policies). Checkov's ARM checks do not look at it.
"""

from __future__ import annotations

from typing import Any

from _mlops_values import get_path, is_true
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult


class ArmKeyVaultRbacAuthorization(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure Key Vaults use Azure RBAC for data-plane authorisation",
            id="CKV_MLOPS_114",
            categories=[CheckCategories.IAM],
            supported_resources=["Microsoft.KeyVault/vaults"],
            guideline="Set properties.enableRbacAuthorization: true and grant Key Vault roles to groups and "
            "identities instead of access policies. See docs/policies.md#ckv_mlops_114",
        )
        self.severity = Severities[BcSeverities.MEDIUM]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/enableRbacAuthorization"]
        enabled = get_path(conf, "properties", "enableRbacAuthorization")
        return CheckResult.PASSED if is_true(enabled) else CheckResult.FAILED


check = ArmKeyVaultRbacAuthorization()

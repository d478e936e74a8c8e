"""CKV_MLOPS_111: storage accounts encrypt with the stack's customer-managed key from Key Vault.

``properties.encryption.keySource`` must be ``Microsoft.Keyvault`` (any case) with ``keyvaultproperties.keyname``
and ``keyvaulturi`` set; Microsoft-managed keys FAIL. Checkov's ARM checks do not look at storage CMKs.
"""

from __future__ import annotations

from typing import Any

from _mlops_values import get_path, has_text
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult


class ArmStorageCustomerManagedKey(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure storage accounts encrypt with a customer-managed key in Key Vault",
            id="CKV_MLOPS_111",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["Microsoft.Storage/storageAccounts"],
            guideline="Set properties.encryption.keySource: Microsoft.Keyvault with keyvaultproperties "
            "{keyname, keyvaulturi} of the stack's CMK and a user-assigned identity allowed to use it. "
            "See docs/policies.md#ckv_mlops_111",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/encryption/keySource", "properties/encryption/keyvaultproperties"]
        encryption = get_path(conf, "properties", "encryption")
        source = get_path(encryption, "keySource")
        key = get_path(encryption, "keyvaultproperties")
        if (
            isinstance(source, str)
            and source.lower() == "microsoft.keyvault"
            and has_text(get_path(key, "keyname"))
            and has_text(get_path(key, "keyvaulturi"))
        ):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = ArmStorageCustomerManagedKey()

"""CKV_MLOPS_108: Key Vault keys rotate automatically.

``properties.rotationPolicy.lifetimeActions`` must hold an action of type ``Rotate`` (any case) whose trigger sets
``timeAfterCreate`` or ``timeBeforeExpiry``. No policy, only ``Notify`` actions, or a trigger-less action FAILS.
Checkov has no ARM check for key rotation.
"""

from __future__ import annotations

from typing import Any

from _mlops_values import dict_list, get_path, has_text
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult


def rotates(action: dict[str, Any]) -> bool:
    kind = get_path(action, "action", "type")
    trigger = action.get("trigger")
    return (
        isinstance(kind, str)
        and kind.lower() == "rotate"
        and isinstance(trigger, dict)
        and (has_text(trigger.get("timeAfterCreate")) or has_text(trigger.get("timeBeforeExpiry")))
    )


class ArmKeyVaultKeyRotation(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure Key Vault keys have a rotation policy that rotates them automatically",
            id="CKV_MLOPS_108",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["Microsoft.KeyVault/vaults/keys"],
            guideline="Give the key properties.rotationPolicy.lifetimeActions with "
            "{trigger: {timeAfterCreate: P90D}, action: {type: Rotate}} (and an expiryTime in "
            "rotationPolicy.attributes). See docs/policies.md#ckv_mlops_108",
        )
        self.severity = Severities[BcSeverities.MEDIUM]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/rotationPolicy/lifetimeActions"]
        actions = dict_list(get_path(conf, "properties", "rotationPolicy", "lifetimeActions"))
        return CheckResult.PASSED if any(rotates(a) for a in actions) else CheckResult.FAILED


check = ArmKeyVaultKeyRotation()

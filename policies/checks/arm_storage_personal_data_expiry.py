"""CKV_MLOPS_382: an Azure storage account holding personal data expires the current blobs of every container.

An account tagged ``purpose: data`` or ``purpose: artifacts`` needs, for each of its containers, an enabled rule
in the account's management policy whose ``prefixMatch`` covers ``<container>/`` and whose
``actions.baseBlob.delete.daysAfterCreationGreaterThan`` is in [1, 3650]. Containers and the policy are other
resources, read from the stack's ``storage_inventory`` by account name; an unreadable context or one without the
inventory FAILS. Other accounts (models under WORM, logs) PASS.
"""

from __future__ import annotations

from typing import Any

from _mlops_context import context_for
from _mlops_storage import azure_rules_expire, personal_data
from _mlops_values import get_path
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult


class ArmStoragePersonalDataExpiry(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure storage accounts holding personal data expire current blobs after the declared retention",
            id="CKV_MLOPS_382",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["Microsoft.Storage/storageAccounts"],
            guideline="Set expireAfterDays on the bucket (mlops:buckets[]; default 365 for data/artifacts buckets) so "
            "AzureStorage adds baseBlob.delete.daysAfterCreationGreaterThan to the container's lifecycle "
            "rule. See docs/policies.md#ckv_mlops_382",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["tags", "name"]
        if not personal_data(conf.get("tags")):
            return CheckResult.PASSED
        context = context_for(self.entity_path, conf)
        if context is None or context.storage is None:
            return CheckResult.FAILED
        account = str(get_path(conf, "name"))
        rules = context.storage.get("azure_management_policies", {}).get(account)
        containers = context.storage.get("azure_containers", {}).get(account) or []
        ok = all(azure_rules_expire(rules, c) for c in containers)
        return CheckResult.PASSED if ok else CheckResult.FAILED


check = ArmStoragePersonalDataExpiry()

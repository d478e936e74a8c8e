"""CKV_MLOPS_383: the on-prem object store (MinIO) expires the current objects of its personal-data buckets.

Judged on each Namespace: where the stack releases the ``minio`` chart into it, every bucket of the release must
carry a purpose tag (an ``mc`` command ``tag set myminio/<bucket> purpose=<purpose>``), and each ``data`` or
``artifacts`` bucket's last lifecycle command must be ``ilm rule add --expire-days N ... myminio/<bucket>`` for the
whole bucket (N in [1, 3650]). The release is a Helm chart Checkov does not render; its values are read from the
stack's ``storage_inventory``. An unreadable context or one without the inventory FAILS; other namespaces PASS.
"""

from __future__ import annotations

from typing import Any

from _mlops_context import context_for
from _mlops_storage import minio_unexpired
from _mlops_values import get_path
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


class K8sObjectStorePersonalDataExpiry(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure the on-prem object store expires current objects of personal-data buckets",
            id="CKV_MLOPS_383",
            categories=[CheckCategories.KUBERNETES],
            supported_entities=("Namespace",),
            guideline="Set expireAfterDays on the bucket (mlops:buckets[]; default 365 for data/artifacts buckets) so "
            "OnPremObjectStore's mc commands tag it and add an ilm expiry rule. "
            "See docs/policies.md#ckv_mlops_383",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["metadata/name"]
        context = context_for(self.entity_path, conf)
        if context is None or context.storage is None:
            return CheckResult.FAILED
        release = context.storage.get("minio_releases", {}).get(get_path(conf, "metadata", "name"))
        if release is None:
            return CheckResult.PASSED
        return CheckResult.FAILED if minio_unexpired(release) else CheckResult.PASSED


check = K8sObjectStorePersonalDataExpiry()

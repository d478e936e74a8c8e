"""CKV_MLOPS_117: PostgreSQL flexible server backups stay in the server's region (no geo-redundant backup).

Geo-redundant backup copies every backup to the Azure paired region (``uaenorth`` -> ``uaecentral``), outside the
locations a residency-bound stack allows, so ``properties.backup.geoRedundantBackup`` must be ``Disabled``
(Azure's default when absent). Checkov's CKV_AZURE_102 asks for the opposite on the retired single-server type;
residency wins here.
"""

from __future__ import annotations

from typing import Any

from _mlops_values import as_text, get_path
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult


class ArmPostgresNoGeoRedundantBackup(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure PostgreSQL flexible server backups are not copied to another region",
            id="CKV_MLOPS_117",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=["Microsoft.DBforPostgreSQL/flexibleServers"],
            guideline="Set properties.backup.geoRedundantBackup: Disabled (AzureFeatureDataArgs.geo_redundant_backup "
            "= False); rely on zone-redundant high availability in the region. "
            "See docs/policies.md#ckv_mlops_117",
        )
        self.severity = Severities[BcSeverities.CRITICAL]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/backup/geoRedundantBackup"]
        backup = get_path(conf, "properties", "backup")
        if backup is not None and not isinstance(backup, dict):
            return CheckResult.FAILED
        geo = (backup or {}).get("geoRedundantBackup")
        return CheckResult.PASSED if geo is None or as_text(geo) == "Disabled" else CheckResult.FAILED


check = ArmPostgresNoGeoRedundantBackup()

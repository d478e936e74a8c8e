"""CKV_MLOPS_331: every database connection the stack plans verifies the server's certificate and name against a
mounted CA.

- On a Secret that configures database clients (``feast-feature-store``, or annotated
  ``mlops.platform/connection-tls``): the registry's libpq settings are ``sslmode=verify-full`` (``require`` and
  ``verify-ca`` do not check the host name) with ``sslrootcert`` an absolute file path (not ``system``). A Secret
  whose settings cannot be read FAILS.
- On a workload: every container that mounts such a Secret mounts the ``sslrootcert`` file (its directory from a
  ConfigMap/Secret volume holding it; the ConfigMap's keys from the context's ``database_ca_bundles``); a workload
  mounting ``feast-feature-store`` that the context does not describe FAILS. A container setting KFP's
  ``DBCONFIG_MYSQLCONFIG_EXTRAPARAMS`` has ``tls`` ``"true"`` (never ``skip-verify``, ``preferred``, ``false``) and
  ``SSL_CERT_DIR`` naming a directory it mounts from a ConfigMap/Secret volume (the database's CA).

Other Secrets and workloads PASS.
"""

from __future__ import annotations

import json
from typing import Any

from _mlops_db_tls import (
    CERT_DIR_ENV,
    PIPELINE_DB_PARAMS,
    SYSTEM_CERT_DIRS,
    WORKLOADS,
    ConnectionTlsCheck,
    env_value,
    mounts_dir,
    registry_verified,
    section,
)
from _mlops_k8s import containers, pod_spec
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult

ENV_KEY = "spec/template/spec/containers/env/value"


class K8sDatabaseTlsVerified(ConnectionTlsCheck):
    SECTION, CA_KEY = "registry", "sslrootcert"

    def __init__(self) -> None:
        super().__init__(
            name="Ensure database connections verify the server certificate (sslmode=verify-full, KFP tls=true) "
            "against a mounted CA",
            id="CKV_MLOPS_331",
            categories=[CheckCategories.KUBERNETES],
            supported_entities=("Secret", *WORKLOADS),
            guideline="Keep components/services/db_tls.py: registry_ssl_mode verify-full with the mounted CA bundle "
            "(database-ca-bundle ConfigMap on the clouds, the issuer's CA on-prem), KFP tls=true with "
            "SSL_CERT_DIR. See docs/policies.md#ckv_mlops_331 and docs/security-database-tls.md",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def verified(self, tls: dict[str, Any] | None) -> bool:
        return registry_verified(tls)

    def applies(self, tls: dict[str, Any]) -> bool:
        return bool(section(tls, "registry"))  # without a SQL database, its online store is CKV_MLOPS_332's

    def other_connections(self, conf: dict[str, Any]) -> CheckResult:
        spec = pod_spec(conf)
        for container in (containers(spec) or []) if spec is not None else []:
            params = env_value(container, PIPELINE_DB_PARAMS)
            if params is None:
                continue
            self.evaluated_keys = [ENV_KEY]
            if not self._pipeline_db_verified(params, container, spec):
                return CheckResult.FAILED
        return CheckResult.PASSED

    @staticmethod
    def _pipeline_db_verified(params: Any, container: dict[str, Any], spec: dict[str, Any]) -> bool:
        try:
            parsed = json.loads(params)
        except (TypeError, ValueError):
            return False
        if not isinstance(parsed, dict) or str(parsed.get("tls", "")).lower() != "true":
            return False
        cert_dirs = str(env_value(container, CERT_DIR_ENV) or "").split(":")
        return any(d and d.rstrip("/") not in SYSTEM_CERT_DIRS and mounts_dir(container, spec, d) for d in cert_dirs)


check = K8sDatabaseTlsVerified()

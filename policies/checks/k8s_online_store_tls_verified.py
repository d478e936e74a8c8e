"""CKV_MLOPS_332: the online store's Redis connections verify the server's certificate and name against a mounted
CA.

- On a Secret that configures database clients (``feast-feature-store``, or annotated
  ``mlops.platform/connection-tls``): the online store's redis-py fields are ``ssl=true``,
  ``ssl_cert_reqs=required`` (not ``none``/``optional``), ``ssl_check_hostname=true`` and ``ssl_ca_certs`` an
  absolute file path. A Secret whose settings cannot be read FAILS.
- On a workload: every container that mounts such a Secret mounts the ``ssl_ca_certs`` file (as CKV_MLOPS_331 reads
  mounts); a workload mounting ``feast-feature-store`` that the context does not describe FAILS.

Other Secrets and workloads PASS.
"""

from __future__ import annotations

from typing import Any

from _mlops_db_tls import WORKLOADS, ConnectionTlsCheck, online_store_verified, section
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories


class K8sOnlineStoreTlsVerified(ConnectionTlsCheck):
    SECTION, CA_KEY = "online_store", "ssl_ca_certs"

    def __init__(self) -> None:
        super().__init__(
            name="Ensure online-store (Redis) connections verify TLS (ssl_cert_reqs=required) against a mounted CA",
            id="CKV_MLOPS_332",
            categories=[CheckCategories.KUBERNETES],
            supported_entities=("Secret", *WORKLOADS),
            guideline="Keep components/services/feature_store_config.py's OnlineRedis TLS fields and the CA bundle "
            "db_tls.py mounts (ssl_ca_certs). See docs/policies.md#ckv_mlops_332 and "
            "docs/security-database-tls.md",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def verified(self, tls: dict[str, Any] | None) -> bool:
        return online_store_verified(tls)

    def applies(self, tls: dict[str, Any]) -> bool:
        return bool(section(tls, "online_store")) or not section(tls, "registry")  # one without it is 331's


check = K8sOnlineStoreTlsVerified()

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

from _mlops_context import context_for
from _mlops_db_tls import WORKLOADS, config_readers, mounts_file, online_store_verified, secret_tls, section
from _mlops_values import get_path
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


class K8sOnlineStoreTlsVerified(BaseK8Check):
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

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        if conf.get("kind") == "Secret":
            self.evaluated_keys = ["metadata/annotations"]
            relevant, tls = secret_tls(conf)
            if not relevant:
                return CheckResult.PASSED
            return CheckResult.PASSED if online_store_verified(tls) else CheckResult.FAILED
        self.evaluated_keys = ["spec/template/spec/volumes", "spec/template/spec/containers/volumeMounts"]
        context = context_for(self.entity_path, conf)
        if context is None:
            return CheckResult.FAILED
        readers = config_readers(conf, context)
        if readers is None:
            return CheckResult.FAILED
        namespace = get_path(conf, "metadata", "namespace")
        for container, spec, tls in readers:
            if not section(tls, "online_store") and section(tls, "registry"):
                continue  # a configuration with no online store
            if not online_store_verified(tls) or not mounts_file(
                    container, spec, section(tls, "online_store")["ssl_ca_certs"], namespace, context):
                return CheckResult.FAILED
        return CheckResult.PASSED


check = K8sOnlineStoreTlsVerified()

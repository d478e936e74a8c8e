"""Shared reading of database and cache client TLS, and the base of CKV_MLOPS_331/332; defines (registers) no check.

Where a client's settings live:

- Feast's ``feature_store.yaml`` is a Pulumi secret (masked in previews), so the Secret holding it carries its TLS
  settings in the annotation ``mlops.platform/connection-tls`` (JSON ``{"registry": {libpq parameters},
  "online_store": {redis-py fields}}``), rendered by the same code as the file. A Secret named
  ``feast-feature-store`` or carrying the annotation is a database client configuration; the policy context's
  ``database_connections`` lists them stack-wide for the workloads that mount them.
- KFP's API server takes its MySQL TLS mode from ``DBCONFIG_MYSQLCONFIG_EXTRAPARAMS`` (go-sql-driver ``tls``) and
  extra trust anchors from ``SSL_CERT_DIR``.

A CA is *mounted* when a container that reads the configuration mounts the CA file's directory from a ConfigMap or
Secret volume holding that file: a ConfigMap's keys come from the context's ``database_ca_bundles`` (or the volume's
``items``), a Secret volume with ``items`` must list it (a Secret issued at deploy time, e.g. by cert-manager, is
taken as holding it otherwise).
"""

from __future__ import annotations

import json
from typing import Any

from _mlops_context import context_for
from _mlops_k8s import containers, pod_spec
from _mlops_values import dict_list, get_path
from checkov.common.models.enums import CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

ANNOTATION = "mlops.platform/connection-tls"
FEAST_CONFIG_SECRET = "feast-feature-store"
PIPELINE_DB_PARAMS = "DBCONFIG_MYSQLCONFIG_EXTRAPARAMS"
CERT_DIR_ENV = "SSL_CERT_DIR"
SYSTEM_CERT_DIRS = ("/etc/ssl/certs", "/etc/pki/tls/certs", "/etc/ssl", "/etc/pki/tls", "/system/etc/security/cacerts")
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")


def secret_tls(conf: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
    """(whether the Secret configures database clients, its TLS settings or ``None`` when unreadable)."""
    name = get_path(conf, "metadata", "name")
    annotations = annotations_of(conf)
    if name != FEAST_CONFIG_SECRET and ANNOTATION not in annotations:
        return False, None
    try:
        tls = json.loads(annotations[ANNOTATION])
    except (KeyError, TypeError, ValueError):
        return True, None
    return True, tls if isinstance(tls, dict) else None


def annotations_of(conf: dict[str, Any]) -> dict[str, Any]:
    """``metadata.annotations`` (Checkov's Kubernetes runner hands them over as a list of one mapping)."""
    value = get_path(conf, "metadata", "annotations")
    if isinstance(value, list):
        merged: dict[str, Any] = {}
        for item in dict_list(value):
            merged.update(item)
        return merged
    return value if isinstance(value, dict) else {}


def section(tls: dict[str, Any] | None, name: str) -> dict[str, Any]:
    value = (tls or {}).get(name)
    return value if isinstance(value, dict) else {}


def is_ca_path(value: Any) -> bool:
    """An absolute file path (not ``system``, libpq's public trust store, nor a directory)."""
    return isinstance(value, str) and value.startswith("/") and not value.endswith("/") and ".." not in value


def registry_verified(tls: dict[str, Any] | None) -> bool:
    registry = section(tls, "registry")
    return registry.get("sslmode") == "verify-full" and is_ca_path(registry.get("sslrootcert"))


def online_store_verified(tls: dict[str, Any] | None) -> bool:
    online = section(tls, "online_store")
    return (
        str(online.get("ssl", "")).lower() == "true"
        and online.get("ssl_cert_reqs") == "required"
        and str(online.get("ssl_check_hostname", "")).lower() == "true"
        and is_ca_path(online.get("ssl_ca_certs"))
    )


def _volumes(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in dict_list(spec.get("volumes")) if isinstance(v.get("name"), str)}


def _volume_holds(volume: dict[str, Any], file_name: str, namespace: Any, context: Any) -> bool:
    for kind, name_key in (("configMap", "name"), ("secret", "secretName")):
        source = volume.get(kind)
        if not isinstance(source, dict):
            continue
        items = source.get("items")
        if items is not None:
            return file_name in [i.get("path") for i in dict_list(items)]
        if kind == "secret":
            return True
        bundles = getattr(context, "database_ca_bundles", None) or {}
        bundle = bundles.get(f"{namespace}/{source.get(name_key)}")
        return isinstance(bundle, dict) and file_name in bundle.get("keys", [])
    return False


def mounts_file(container: dict[str, Any], spec: dict[str, Any], path: str, namespace: Any, context: Any) -> bool:
    """Whether ``container`` mounts ``path``'s directory from a ConfigMap/Secret volume that holds the file."""
    directory, _, file_name = path.rpartition("/")
    volumes = _volumes(spec)
    for mount in dict_list(container.get("volumeMounts")):
        if str(mount.get("mountPath", "")).rstrip("/") != directory or mount.get("subPath"):
            continue
        volume = volumes.get(mount.get("name"))
        if volume is not None and _volume_holds(volume, file_name, namespace, context):
            return True
    return False


def mounts_dir(container: dict[str, Any], spec: dict[str, Any], directory: str) -> bool:
    """Whether ``container`` mounts ``directory`` from a ConfigMap or Secret volume."""
    volumes = _volumes(spec)
    for mount in dict_list(container.get("volumeMounts")):
        if str(mount.get("mountPath", "")).rstrip("/") == directory.rstrip("/") and not mount.get("subPath"):
            volume = volumes.get(mount.get("name")) or {}
            if isinstance(volume.get("configMap"), dict) or isinstance(volume.get("secret"), dict):
                return True
    return False


Reader = tuple[dict[str, Any], dict[str, Any], "dict[str, Any] | None"]


def config_readers(conf: dict[str, Any], context: Any) -> list[Reader] | None:
    """(container, pod spec, TLS settings) for every container of the workload that mounts a database client
    configuration Secret; ``None`` when its containers cannot be read or it mounts a ``feast-feature-store`` Secret
    the context does not describe."""
    spec = pod_spec(conf)
    if spec is None:
        return []  # no pod template (a patch of other fields): it mounts nothing; the workload checks judge its shape
    namespace = get_path(conf, "metadata", "namespace")
    known = getattr(context, "database_connections", None)
    found = []
    configs = {}
    for volume in dict_list(spec.get("volumes")):
        secret = volume.get("secret")
        if not isinstance(secret, dict):
            continue
        key = f"{namespace}/{secret.get('secretName')}"
        if known is not None and key in known:
            configs[volume.get("name")] = known[key]
        elif secret.get("secretName") == FEAST_CONFIG_SECRET:
            return None
    if not configs:
        return []
    items = containers(spec)
    if items is None:
        return None
    for container in items:
        for mount in dict_list(container.get("volumeMounts")):
            if mount.get("name") in configs:
                found.append((container, spec, configs[mount["name"]]))
    return found


def env_value(container: dict[str, Any], name: str) -> Any:
    for item in dict_list(container.get("env")):
        if item.get("name") == name:
            return item.get("value")
    return None


class ConnectionTlsCheck(BaseK8Check):
    """A check that one kind of connection (``SECTION`` of the TLS settings, its CA file under ``CA_KEY``) verifies
    the server: on a client configuration Secret its settings pass :meth:`verified`; on a workload every container
    that reads such a configuration, where :meth:`applies`, passes it too and mounts the CA file. Subclasses register
    themselves by being instantiated in their file."""

    SECTION: str
    CA_KEY: str

    def verified(self, tls: dict[str, Any] | None) -> bool:
        raise NotImplementedError

    def applies(self, tls: dict[str, Any]) -> bool:
        """Whether a configuration holds this connection (one without it is the other check's)."""
        raise NotImplementedError

    def other_connections(self, conf: dict[str, Any]) -> CheckResult:
        """The workload's connections configured outside the client Secrets; none by default."""
        return CheckResult.PASSED

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        if conf.get("kind") == "Secret":
            self.evaluated_keys = ["metadata/annotations"]
            relevant, tls = secret_tls(conf)
            if not relevant:
                return CheckResult.PASSED
            return CheckResult.PASSED if self.verified(tls) else CheckResult.FAILED
        self.evaluated_keys = ["spec/template/spec/volumes", "spec/template/spec/containers/volumeMounts"]
        context = context_for(self.entity_path, conf)
        if context is None:
            return CheckResult.FAILED
        readers = config_readers(conf, context)
        if readers is None:
            return CheckResult.FAILED
        namespace = get_path(conf, "metadata", "namespace")
        for container, spec, tls in readers:
            if tls is None:
                return CheckResult.FAILED
            if not self.applies(tls):
                continue
            if not self.verified(tls) or not mounts_file(
                container, spec, section(tls, self.SECTION)[self.CA_KEY], namespace, context
            ):
                return CheckResult.FAILED
        return self.other_connections(conf)

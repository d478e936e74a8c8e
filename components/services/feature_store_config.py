"""Render Feast's ``feature_store.yaml`` of the production shape: SQL registry on PostgreSQL, Redis online store,
offline store on the stack's object store.

Pure functions over plain values, so the Pulumi component (which feeds them resolved secret Outputs) and the
integration test (which feeds them loopback servers) render the file with the same code. Imports nothing heavy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlencode

import yaml

from components.errors import InputError

PROJECT = "credit_risk"
"""The Feast project of the platform's feature repository (``pipelines/features``)."""
FEATURE_STORE_FILE = "feature_store.yaml"
ENTITY_KEY_SERIALIZATION_VERSION = 3

SslMode = Literal["require", "verify-ca", "verify-full"]
_SAFE_SECRET = re.compile(r"^[A-Za-z0-9_~.+/=-]{16,}$")
"""Passwords Feast's formats can carry: long, and free of ``,`` (separates Redis connection-string fields), ``$``
(Feast expands ``$VAR`` in the file) and whitespace. Generated passwords are alphanumeric; Azure Cache for Redis
access keys are base64 (``+``, ``/``, ``=`` are safe: a field splits at its first ``=`` only)."""


def _check_secret(what: str, value: str) -> str:
    if not _SAFE_SECRET.match(value):
        raise InputError(
            f"{what} must be at least 16 characters of A-Z, a-z, 0-9 and '_~.+/=-' (Feast reads ',' and '$' as syntax)"
        )
    return value


@dataclass(frozen=True)
class RegistryDatabase:
    """The PostgreSQL database holding Feast's SQL registry."""

    host: str
    port: int
    database: str
    user: str
    password: str
    ssl_mode: SslMode = "verify-full"
    """Never ``disable``/``prefer``: the registry is only reached over TLS."""
    ssl_root_cert: str | None = None
    """CA bundle path inside the pod, or ``system`` (libpq's system trust store); None: libpq's default."""

    def tls_query(self) -> dict[str, str]:
        """libpq's TLS parameters of :meth:`url` (no secret in them)."""
        query = {"sslmode": self.ssl_mode}
        if self.ssl_root_cert:
            query["sslrootcert"] = self.ssl_root_cert
        return query

    def url(self) -> str:
        """SQLAlchemy URL with the psycopg 3 driver and libpq TLS settings."""
        _check_secret("the registry database password", self.password)
        query = self.tls_query()
        user = quote(self.user, safe="")
        return (
            f"postgresql+psycopg://{user}:{quote(self.password, safe='')}@{self.host}:{self.port}/"
            f"{quote(self.database, safe='')}?{urlencode(query)}"
        )


@dataclass(frozen=True)
class OnlineRedis:
    """The Redis server of Feast's online store."""

    host: str
    port: int
    password: str
    tls: bool = True
    ca_cert: str | None = None
    """CA bundle path inside the pod for a private CA (on-prem); None: the system trust store (clouds)."""
    username: str | None = None

    def connection_string(self) -> str:
        """Feast's ``host:port,key=value`` form (values are handed to redis-py)."""
        _check_secret("the Redis password", self.password)
        parts = [f"{self.host}:{self.port}"]
        if self.username:
            parts.append(f"username={self.username}")
        parts.append(f"password={self.password}")
        parts += [f"{key}={value}" for key, value in self.tls_fields().items()]
        return ",".join(parts)

    def tls_fields(self) -> dict[str, str]:
        """The TLS fields of :meth:`connection_string` (no secret in them)."""
        if not self.tls:
            return {}
        # verify the server's certificate and name explicitly, whatever redis-py's defaults of the day are
        fields = {"ssl": "true", "ssl_cert_reqs": "required", "ssl_check_hostname": "true"}
        if self.ca_cert:
            fields["ssl_ca_certs"] = self.ca_cert
        return fields


@dataclass(frozen=True)
class OfflineStore:
    """Where the offline store stages and reads data: the stack's encrypted ``features`` bucket."""

    uri: str
    """``s3://bucket`` (AWS, MinIO) or ``abfss://container@account.dfs.core.windows.net`` (Azure)."""
    endpoint_override: str | None = None
    """S3 endpoint of a non-AWS object store (on-prem MinIO over HTTPS)."""

    def __post_init__(self) -> None:
        if not self.uri.startswith(("s3://", "abfss://", "gs://", "/")):
            raise InputError(f"offline store location {self.uri!r} is not an s3://, abfss:// or local path")


TLS_ANNOTATION = "mlops.platform/connection-tls"
"""Annotation on the Secret holding ``feature_store.yaml``: its TLS settings as JSON (:func:`connection_tls`). The
file itself is a Pulumi secret (masked in previews), so the policy gate reads what the file verifies from here."""


def connection_tls(registry: RegistryDatabase, online: OnlineRedis) -> dict[str, dict[str, str]]:
    """What the rendered file's connections verify, from the same methods that render them: ``registry`` (libpq
    query parameters) and ``online_store`` (redis-py fields)."""
    return {"registry": registry.tls_query(), "online_store": online.tls_fields()}


def feature_store_config(
    registry: RegistryDatabase,
    online: OnlineRedis,
    offline: OfflineStore,
    *,
    project: str = PROJECT,
    registry_cache_ttl_seconds: int = 60,
) -> dict:
    """``feature_store.yaml`` as a dict (what :func:`render` dumps)."""
    offline_store: dict = {"type": "duckdb", "staging_location": f"{offline.uri.rstrip('/')}/staging"}
    if offline.endpoint_override:
        offline_store["staging_location_endpoint_override"] = offline.endpoint_override
    return {
        "project": project,
        "provider": "local",
        "registry": {
            "registry_type": "sql",
            "path": registry.url(),
            "cache_ttl_seconds": registry_cache_ttl_seconds,
            "sqlalchemy_config_kwargs": {"echo": False, "pool_pre_ping": True},
        },
        "online_store": {"type": "redis", "connection_string": online.connection_string()},
        "offline_store": offline_store,
        "entity_key_serialization_version": ENTITY_KEY_SERIALIZATION_VERSION,
    }


def render(registry: RegistryDatabase, online: OnlineRedis, offline: OfflineStore, *, project: str = PROJECT) -> str:
    """The file's text. It holds passwords: only ever put it into a Pulumi secret / Kubernetes Secret."""
    return yaml.safe_dump(feature_store_config(registry, online, offline, project=project), sort_keys=False)

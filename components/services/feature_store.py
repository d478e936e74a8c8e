"""The Feast feature store on one stack: the target's registry and online store, ``feature_store.yaml`` rendered
from their outputs into a Kubernetes Secret, and the feature server reading it.

The rendered file holds the database and Redis passwords, so it only ever exists as a secret Output (masked in
state, previews and logs) and as a Kubernetes Secret; the program never sees it in plaintext.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.services import feature_store_config as fsc
from components.services.feature_server import FeatureServer, FeatureServerArgs
from components.services.identity import IdentityBinding

CONFIG_SECRET = "feast-feature-store"
"""Secret holding ``feature_store.yaml``: mounted by the feature server, copied by pipeline steps that use Feast."""


@dataclass
class FeatureStoreBackends:
    """Where the target put the registry and the online store, and how clients reach them."""

    registry_host: pulumi.Input[str]
    registry_password: pulumi.Output[str]
    redis_host: pulumi.Input[str]
    redis_password: pulumi.Output[str]
    egress: Sequence[dict[str, Any]]
    """NetworkPolicy egress rules the feature server needs to reach them and the object store."""
    registry_port: int = 5432
    registry_database: str = "feast"
    registry_user: str = "feast"
    registry_ssl_mode: fsc.SslMode = "verify-full"
    registry_ssl_root_cert: str | None = "system"
    redis_port: int = 6379
    redis_ca_cert: str | None = None
    ca_secret: str | None = None
    """Secret whose ``ca.crt`` the pod mounts to verify a private CA (on-prem)."""
    ca_config_map: str | None = None
    """ConfigMap (:data:`components.services.db_tls.CONFIG_MAP`) the pod mounts to verify the clouds' servers."""
    dependencies: list[pulumi.Resource] = field(default_factory=list)


@dataclass
class FeatureStoreArgs:
    namespace: pulumi.Input[str]
    offline_uri: pulumi.Input[str]
    """The stack's encrypted ``features`` bucket (``s3://``, ``abfss://``)."""
    backends: Callable[[pulumi.Resource], FeatureStoreBackends]
    """Builds the target's registry and online store as children of the given parent."""
    identity: Callable[[pulumi.Resource], IdentityBinding]
    """Builds the feature server's cloud identity (read on the features bucket only)."""
    client_namespaces: Sequence[str]
    offline_endpoint: pulumi.Input[str] | None = None
    """S3 endpoint of a non-AWS object store (on-prem MinIO)."""
    config_copies: Sequence[pulumi.Input[str]] = ()
    """Other namespaces that get the same Secret (KFP's, whose pipeline steps read and materialize features)."""
    project: str = fsc.PROJECT


def _connections(
    backends: FeatureStoreBackends, registry_host: str, registry_password: str, redis_host: str, redis_password: str
) -> tuple[fsc.RegistryDatabase, fsc.OnlineRedis]:
    registry = fsc.RegistryDatabase(
        host=registry_host,
        port=backends.registry_port,
        database=backends.registry_database,
        user=backends.registry_user,
        password=registry_password,
        ssl_mode=backends.registry_ssl_mode,
        ssl_root_cert=backends.registry_ssl_root_cert,
    )
    online = fsc.OnlineRedis(
        host=redis_host, port=backends.redis_port, password=redis_password, tls=True, ca_cert=backends.redis_ca_cert
    )
    return registry, online


def connection_tls_annotation(backends: FeatureStoreBackends) -> dict[str, str]:
    """The config Secret's :data:`~components.services.feature_store_config.TLS_ANNOTATION`: the TLS settings of
    the rendered file, from the same objects (hosts and passwords play no part in them)."""
    import json

    registry, online = _connections(backends, "", "", "", "")
    return {fsc.TLS_ANNOTATION: json.dumps(fsc.connection_tls(registry, online), sort_keys=True)}


def render_secret_config(
    backends: FeatureStoreBackends,
    offline_uri: pulumi.Input[str],
    offline_endpoint: pulumi.Input[str] | None,
    project: str,
) -> pulumi.Output[str]:
    """``feature_store.yaml`` from the stack's outputs, as a secret Output (same renderer as the tests use)."""

    def build(values: list[Any]) -> str:
        registry_host, registry_password, redis_host, redis_password, uri, endpoint = values
        registry, online = _connections(backends, registry_host, registry_password, redis_host, redis_password)
        return fsc.render(registry, online, fsc.OfflineStore(uri=uri, endpoint_override=endpoint), project=project)

    return pulumi.Output.secret(
        pulumi.Output.all(
            backends.registry_host,
            backends.registry_password,
            backends.redis_host,
            backends.redis_password,
            offline_uri,
            offline_endpoint,
        ).apply(build)
    )


class FeatureStore(pulumi.ComponentResource):
    """Registry (PostgreSQL), online store (Redis), offline store (the features bucket) and the feature server."""

    feature_server_endpoint: pulumi.Output[str]
    registry_endpoint: pulumi.Output[str]
    online_store_endpoint: pulumi.Output[str]

    def __init__(self, name: str, args: FeatureStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:services:FeatureStore", name, None, opts)
        from pulumi_kubernetes.core.v1 import Secret

        backends = args.backends(self)
        config = render_secret_config(backends, args.offline_uri, args.offline_endpoint, args.project)
        secret = Secret(
            f"{name}-config",
            metadata={
                "name": CONFIG_SECRET,
                "namespace": args.namespace,
                "labels": {"app.kubernetes.io/part-of": "mlops-platform"},
                "annotations": connection_tls_annotation(backends),
            },
            type="Opaque",
            string_data={fsc.FEATURE_STORE_FILE: config},
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(backends.dependencies)),
        )
        for index, namespace in enumerate(args.config_copies):
            Secret(
                f"{name}-config-copy-{index}",
                metadata={
                    "name": CONFIG_SECRET,
                    "namespace": namespace,
                    "labels": {"app.kubernetes.io/part-of": "mlops-platform"},
                    "annotations": connection_tls_annotation(backends),
                },
                type="Opaque",
                string_data={fsc.FEATURE_STORE_FILE: config},
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(backends.dependencies)),
            )
        server = FeatureServer(
            f"{name}-server",
            FeatureServerArgs(
                namespace=args.namespace,
                config_secret=secret.metadata.name,
                identity=args.identity(self),
                client_namespaces=args.client_namespaces,
                egress=backends.egress,
                ca_secret=backends.ca_secret,
                ca_config_map=backends.ca_config_map,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(backends.dependencies)),
        )
        self.feature_server_endpoint = server.endpoint
        self.registry_endpoint = pulumi.Output.concat(backends.registry_host, ":", str(backends.registry_port))
        self.online_store_endpoint = pulumi.Output.concat(backends.redis_host, ":", str(backends.redis_port))
        self.register_outputs(
            {
                "featureServerEndpoint": self.feature_server_endpoint,
                "registryEndpoint": self.registry_endpoint,
                "onlineStoreEndpoint": self.online_store_endpoint,
            }
        )

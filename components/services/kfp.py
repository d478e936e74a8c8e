"""Kubeflow Pipelines, the pinned upstream release installed at deploy time, wired to the stack's storage.

- Install: the upstream kustomizations at the tag pinned in :mod:`components.versions` (``KFP_VERSION``), fetched
  by kustomize when ``pulumi up`` runs (``kustomize.v2.Directory``); nothing is vendored. Cluster-scoped resources
  (CRDs, Argo) first, then the standalone install in the ``kubeflow`` namespace, where pipeline runs execute.
- Storage: the launcher's ``kfp-launcher`` ConfigMap points every run's artifacts (pipeline root) at the stack's
  encrypted ``pipeline-artifacts`` bucket, with credentials from the pod's cloud identity (IRSA / workload identity)
  or, on-prem, from a Secret.
- Metadata: with a :class:`MetadataDatabase` (the clouds' managed, encrypted, TLS-only MySQL), patches upstream's
  ``pipeline-install-config`` (``dbHost``/``dbPort``/database names) and ``mysql-secret`` (credentials from Pulumi
  secrets), turns on TLS in the API server's MySQL client, and scales upstream's in-cluster ``mysql`` Deployment to
  zero. Without one (on-prem), upstream's in-cluster MySQL keeps it. See docs/services.md.
- Identity: the ``pipeline-runner`` ServiceAccount that runs steps reads the ``features`` bucket, writes the
  ``models`` bucket (never deletes; the bucket is WORM) and its own ``pipeline-artifacts``, nothing else.
- Private: every Service stays ClusterIP; the API is reached in-cluster (``kfp_endpoint``) or through
  ``kubectl port-forward`` with the caller's IdP identity (authenticated, authorised by RBAC). An internal
  (VPC/VNet-only) load balancer is an explicit switch; a public one is not offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi

from components import versions
from components.errors import InputError
from components.identities import PIPELINES_NAMESPACE, RUNNER_SERVICE_ACCOUNT
from components.kubernetes.namespace import (
    SecureNamespace,
    SecureNamespaceArgs,
    allow_same_namespace,
    namespaces_named,
)
from components.services.identity import BucketGrant, IdentityBinding

NAMESPACE = PIPELINES_NAMESPACE
API_SERVICE = "ml-pipeline"
API_PORT = 8888
GRPC_PORT = 8887
UI_SERVICE = "ml-pipeline-ui"
UI_PORT = 3000
UI_SERVICE_ACCOUNT = "ml-pipeline-ui"
RUNNER_GRANTS = [
    BucketGrant("features", "read"),
    BucketGrant("models", "write"),
    BucketGrant("pipeline-artifacts", "write"),
]
"""What pipeline steps may touch: read features, write model artifacts and the run's own artifacts."""
UI_GRANTS = [BucketGrant("pipeline-artifacts", "read")]
INSTALL_CONFIG = "pipeline-install-config"
DB_SECRET = "mysql-secret"
API_SERVER_DEPLOYMENT = "ml-pipeline"
API_SERVER_CONTAINER = "ml-pipeline-api-server"
IN_CLUSTER_MYSQL = "mysql"
PATCH_FORCE = {"pulumi.com/patchForce": "true"}
"""Upstream's install owns these fields; the patch takes them over (server-side apply with force)."""


@dataclass
class MetadataDatabase:
    """A managed MySQL holding KFP's pipeline, cache and ML Metadata databases (created by KFP on first start)."""

    host: pulumi.Input[str]
    username: pulumi.Input[str]
    """A Pulumi secret."""
    password: pulumi.Input[str]
    """A Pulumi secret."""
    tls: Literal["true"]
    """The API server's MySQL client TLS mode (go-sql-driver ``tls``): ``true`` verifies the server's certificate
    and name against Go's trust store, which ``ca_config_map`` extends. Never ``skip-verify``/``preferred``/``false``
    (CKV_MLOPS_331)."""
    port: int = 3306
    ca_config_map: str | None = None
    """ConfigMap of CA certificates (:mod:`components.services.db_tls`) mounted into the API server at
    ``/etc/mlops/db-ca`` and added to Go's trust store through ``SSL_CERT_DIR`` (the system directory stays listed:
    the API server also reaches the object store)."""
    pipeline_db: str = "mlpipeline"
    cache_db: str = "cachedb"
    mlmd_db: str = "metadb"

    def install_config(self, host: str) -> dict[str, str]:
        """``pipeline-install-config`` values pointing KFP at this server."""
        return {
            "dbHost": host,
            "dbPort": str(self.port),
            "pipelineDb": self.pipeline_db,
            "cacheDb": self.cache_db,
            "mlmdDb": self.mlmd_db,
        }


def endpoint(cluster_domain: str = "cluster.local") -> str:
    return f"http://{API_SERVICE}.{NAMESPACE}.svc.{cluster_domain}:{API_PORT}"


def launcher_config(
    artifacts_uri: str, *, region: str | None, object_store_endpoint: str | None, credentials_secret: str | None
) -> dict[str, str]:
    """``kfp-launcher`` ConfigMap data: the pipeline root on the artifacts bucket and how the launcher reaches it."""
    import yaml

    if artifacts_uri.startswith("abfss://"):
        container, _, host = artifacts_uri.removeprefix("abfss://").partition("@")
        return {"defaultPipelineRoot": f"azblob://{container}/pipeline-root?storage_account={host.split('.', 1)[0]}"}
    if not artifacts_uri.startswith("s3://"):
        raise InputError(f"pipeline artifacts bucket {artifacts_uri!r} is neither s3:// nor abfss://")
    provider: dict[str, Any] = {"disableSSL": False}
    if object_store_endpoint:
        provider["endpoint"] = object_store_endpoint.removeprefix("https://")
        provider["region"] = region or "us-east-1"
        provider["credentials"] = {
            "fromEnv": False,
            "secretRef": {
                "secretName": credentials_secret,
                "accessKeyKey": "AWS_ACCESS_KEY_ID",
                "secretKeyKey": "AWS_SECRET_ACCESS_KEY",
            },
        }
    else:
        provider["endpoint"] = f"s3.{region}.amazonaws.com"
        provider["region"] = region
        provider["credentials"] = {"fromEnv": True}
    return {
        "defaultPipelineRoot": f"{artifacts_uri.rstrip('/')}/pipeline-root",
        "providers": yaml.safe_dump({"s3": {"default": provider}}, sort_keys=False),
    }


@dataclass
class KubeflowPipelinesArgs:
    artifacts_uri: pulumi.Input[str]
    """The stack's encrypted ``pipeline-artifacts`` bucket."""
    namespace: SecureNamespace
    """KFP's namespace (:func:`secure_namespace`)."""
    runner_identity: IdentityBinding
    ui_identity: IdentityBinding
    client_namespaces: Sequence[str]
    """Namespaces whose pods may call the KFP API and UI (the ML namespaces)."""
    egress: Sequence[dict[str, Any]]
    """Egress rules beyond the namespace itself (feature store, object store, managed databases)."""
    region: str | None = None
    object_store_endpoint: pulumi.Input[str] | None = None
    """On-prem S3 endpoint (MinIO); None on the clouds."""
    api_exposure: Literal["cluster", "internal-load-balancer"] = "cluster"
    """``cluster``: ClusterIP only. ``internal-load-balancer``: also a VPC/VNet-internal load balancer (never
    public). KFP has no authentication of its own in standalone mode: prefer ``cluster`` (port-forward with IdP)."""
    cluster_resources: versions.Manifests = versions.KFP_CLUSTER_RESOURCES
    platform: versions.Manifests = versions.KFP_PLATFORM
    api_ports: Sequence[int] = field(default_factory=lambda: [API_PORT, GRPC_PORT, UI_PORT])
    metadata_database: MetadataDatabase | None = None
    """Managed MySQL for KFP's metadata; None keeps upstream's in-cluster MySQL (on-prem)."""


def secure_namespace(name: str, pod_security_version: str, parent: pulumi.Resource) -> SecureNamespace:
    """KFP's namespace, made before anything that lives in it (identities' Secrets, the install).

    Upstream's MySQL, MinIO and Argo controller images set no seccomp profile / capability drops, so PSA
    `restricted` would reject them: `baseline` (no privileged pods, host namespaces or hostPath) is enforced,
    `restricted` audited and warned so the gap stays visible. Default-deny in both directions, opened by
    :class:`KubeflowPipelines`.
    """
    return SecureNamespace(
        name,
        SecureNamespaceArgs(
            name=NAMESPACE, pod_security_version=pod_security_version, tier="platform", pod_security="baseline"
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


INTERNAL_LB_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
}


class KubeflowPipelines(pulumi.ComponentResource):
    """Upstream KFP at a pinned tag, its namespace locked down, its runs on the stack's artifacts bucket."""

    endpoint: pulumi.Output[str]
    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: KubeflowPipelinesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:services:KubeflowPipelines", name, None, opts)
        from pulumi_kubernetes.core.v1 import ConfigMapPatch, Service, ServiceAccountPatch
        from pulumi_kubernetes.kustomize.v2 import Directory
        from pulumi_kubernetes.networking.v1 import NetworkPolicy

        child = pulumi.ResourceOptions(parent=self)
        namespace = args.namespace
        ns = namespace.name
        cluster = Directory(
            f"{name}-cluster-resources",
            directory=args.cluster_resources.url,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
        )
        install = Directory(
            f"{name}-install",
            directory=args.platform.url,
            namespace=ns,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster]),
        )
        after_install = pulumi.ResourceOptions(parent=self, depends_on=[install])
        data = pulumi.Output.all(args.artifacts_uri, args.object_store_endpoint).apply(
            lambda v: launcher_config(
                v[0],
                region=args.region,
                object_store_endpoint=v[1],
                credentials_secret=f"{RUNNER_SERVICE_ACCOUNT}-object-store",
            )
        )
        ConfigMapPatch(
            f"{name}-launcher", metadata={"name": "kfp-launcher", "namespace": ns}, data=data, opts=after_install
        )
        if args.metadata_database:
            self._use_external_database(name, ns, args.metadata_database, after_install)
        for key, account, identity in (
            ("runner", RUNNER_SERVICE_ACCOUNT, args.runner_identity),
            ("ui", UI_SERVICE_ACCOUNT, args.ui_identity),
        ):
            if identity.service_account_annotations:
                ServiceAccountPatch(
                    f"{name}-{key}-identity",
                    metadata={
                        "name": account,
                        "namespace": ns,
                        "annotations": dict(identity.service_account_annotations),
                    },
                    opts=after_install,
                )

        allow_same_namespace(f"{name}-same-namespace", ns, child)
        NetworkPolicy(
            f"{name}-api-clients",
            metadata={"name": "allow-api-from-ml-namespaces", "namespace": ns},
            spec={
                "podSelector": {
                    "matchExpressions": [{"key": "app", "operator": "In", "values": [API_SERVICE, UI_SERVICE]}]
                },
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [namespaces_named(*args.client_namespaces)],
                        "ports": [{"protocol": "TCP", "port": p} for p in args.api_ports],
                    }
                ],
            },
            opts=child,
        )
        NetworkPolicy(
            f"{name}-egress",
            metadata={"name": "allow-platform-egress", "namespace": ns},
            spec={"podSelector": {}, "policyTypes": ["Egress"], "egress": list(args.egress)},
            opts=child,
        )
        if args.api_exposure == "internal-load-balancer":
            Service(
                f"{name}-internal-lb",
                metadata={"name": f"{API_SERVICE}-internal", "namespace": ns, "annotations": INTERNAL_LB_ANNOTATIONS},
                spec={
                    "type": "LoadBalancer",
                    "selector": {"app": API_SERVICE},
                    "ports": [{"name": "http", "port": API_PORT, "targetPort": API_PORT, "protocol": "TCP"}],
                },
                opts=after_install,
            )
        self.namespace = ns
        self.endpoint = install.urn.apply(lambda _: endpoint())
        self.register_outputs({"endpoint": self.endpoint, "namespace": self.namespace})

    @staticmethod
    def _use_external_database(
        name: str, ns: pulumi.Input[str], db: MetadataDatabase, opts: pulumi.ResourceOptions
    ) -> None:
        """Point upstream's install at ``db``: install config, credentials, TLS; retire the in-cluster MySQL."""
        import json

        from pulumi_kubernetes.apps.v1 import DeploymentPatch
        from pulumi_kubernetes.core.v1 import ConfigMapPatch, SecretPatch

        from components.services import db_tls

        if db.ca_config_map and db.ca_config_map != db_tls.CONFIG_MAP:
            raise ValueError(f"MetadataDatabase.ca_config_map must be {db_tls.CONFIG_MAP!r} (the mounted bundle)")
        # Go reads SSL_CERT_DIR as a colon-separated list and adds every PEM file in it to the system roots
        ca_env = [{"name": "SSL_CERT_DIR", "value": f"/etc/ssl/certs:{db_tls.MOUNT_DIR}"}] if db.ca_config_map else []
        ConfigMapPatch(
            f"{name}-db-config",
            metadata={"name": INSTALL_CONFIG, "namespace": ns, "annotations": PATCH_FORCE},
            data=pulumi.Output.from_input(db.host).apply(db.install_config),
            opts=opts,
        )
        SecretPatch(
            f"{name}-db-credentials",
            metadata={"name": DB_SECRET, "namespace": ns, "annotations": PATCH_FORCE},
            string_data={"username": pulumi.Output.secret(db.username), "password": pulumi.Output.secret(db.password)},
            opts=opts,
        )
        DeploymentPatch(
            f"{name}-api-server-db-tls",
            metadata={"name": API_SERVER_DEPLOYMENT, "namespace": ns, "annotations": PATCH_FORCE},
            spec={
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": API_SERVER_CONTAINER,
                                "env": [
                                    {
                                        "name": "DBCONFIG_MYSQLCONFIG_EXTRAPARAMS",
                                        "value": json.dumps({"tls": db.tls}),
                                    },
                                    *ca_env,
                                ],
                                **({"volumeMounts": [db_tls.volume_mount()]} if db.ca_config_map else {}),
                            }
                        ],
                        **({"volumes": [db_tls.volume()]} if db.ca_config_map else {}),
                    }
                }
            },
            opts=opts,
        )
        DeploymentPatch(
            f"{name}-in-cluster-mysql-off",
            metadata={"name": IN_CLUSTER_MYSQL, "namespace": ns, "annotations": PATCH_FORCE},
            spec={"replicas": 0},
            opts=opts,
        )

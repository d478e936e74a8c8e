"""On-prem parts of the platform services: the Feast registry's PostgreSQL and the online store's Redis, both
in-cluster from pinned charts (components/versions.py), on the site's encrypted storage class, TLS only.

- TLS: server certificates are cert-manager ``Certificate`` objects signed by the site's ClusterIssuer (as for the
  object store); PostgreSQL accepts only ``hostssl`` connections (TLS 1.2+), Redis serves TLS only on its port.
  Clients verify the server against the issuer's CA (``ca.crt`` in the certificate Secret).
- Auth: generated passwords, held only as Pulumi secrets and Kubernetes Secrets (``existingSecret``), never in
  Helm values.
- Network: the namespace is default-deny; the databases admit the feature server and the pipeline namespaces
  only, on their one port.
- Identity: on-prem has no cloud identity; each workload gets its own MinIO user, limited by policy to the
  buckets it is granted (:class:`OnPremIdentities`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components import versions
from components.kubernetes.helm import pinned_release
from components.kubernetes.namespace import NAMESPACE_NAME_LABEL
from components.services.identity import BucketGrant, IdentityBinding, check_grants

POSTGRES_PORT = 5432
REDIS_PORT = 6379
REGISTRY_RELEASE = "feast-registry"
ONLINE_RELEASE = "feast-online"
REGISTRY_DATABASE = "feast"
REGISTRY_USER = "feast"
REGISTRY_SECRET = "feast-registry-db"
ONLINE_SECRET = "feast-online-redis"
REGISTRY_TLS_SECRET = "feast-registry-tls"
ONLINE_TLS_SECRET = "feast-online-tls"
PG_HBA = """\
local all all scram-sha-256
hostssl all all 0.0.0.0/0 scram-sha-256
hostssl all all ::/0 scram-sha-256
hostnossl all all 0.0.0.0/0 reject
hostnossl all all ::/0 reject
"""
"""Only TLS connections with SCRAM passwords; plaintext TCP is rejected outright."""


def postgres_values(*, storage_class: str, volume_size: str) -> dict[str, Any]:
    """Bitnami PostgreSQL values: TLS only, passwords by Secret reference, encrypted storage, chart netpol off
    (this module's policies are tighter)."""
    return {
        "fullnameOverride": REGISTRY_RELEASE,
        "auth": {
            "username": REGISTRY_USER,
            "database": REGISTRY_DATABASE,
            "enablePostgresUser": True,
            "existingSecret": REGISTRY_SECRET,
            "secretKeys": {"adminPasswordKey": "postgres-password", "userPasswordKey": "password"},
        },
        "tls": {
            "enabled": True,
            "certificatesSecret": REGISTRY_TLS_SECRET,
            "certFilename": "tls.crt",
            "certKeyFilename": "tls.key",
            "certCAFilename": "ca.crt",
        },
        "primary": {
            "pgHbaConfiguration": PG_HBA,
            "extendedConfiguration": "ssl_min_protocol_version = 'TLSv1.2'\npassword_encryption = 'scram-sha-256'\n",
            "persistence": {"enabled": True, "storageClass": storage_class, "size": volume_size},
            "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
            "networkPolicy": {"enabled": False},
        },
        "networkPolicy": {"enabled": False},
        "volumePermissions": {"enabled": False},
    }


def redis_values(*, storage_class: str, volume_size: str, replicas: int) -> dict[str, Any]:
    """Bitnami Redis values: TLS only on 6379, AUTH from a Secret, replicas for failover reads, encrypted storage."""
    persistence = {"enabled": True, "storageClass": storage_class, "size": volume_size}
    resources = {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}
    return {
        "fullnameOverride": ONLINE_RELEASE,
        "architecture": "replication",
        "auth": {"enabled": True, "existingSecret": ONLINE_SECRET, "existingSecretPasswordKey": "redis-password"},
        "tls": {
            "enabled": True,
            "authClients": False,
            "existingSecret": ONLINE_TLS_SECRET,
            "certFilename": "tls.crt",
            "certKeyFilename": "tls.key",
            "certCAFilename": "ca.crt",
        },
        "master": {"persistence": persistence, "resources": resources},
        "replica": {"replicaCount": replicas, "persistence": persistence, "resources": resources},
        "networkPolicy": {"enabled": False},
        "volumePermissions": {"enabled": False},
    }


def minio_policy(bucket_access: Sequence[tuple[str, str]]) -> str:
    """A MinIO (S3) policy for ``(bucket, access)`` pairs: list/get, plus put for ``write``; never delete."""
    import json

    buckets = sorted({b for b, _ in bucket_access})
    write = sorted({b for b, access in bucket_access if access == "write"})
    statements = [
        {
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": [f"arn:aws:s3:::{b}" for b in buckets],
        },
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": [f"arn:aws:s3:::{b}/*" for b in buckets],
        },
    ]
    if write:
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                "Resource": [f"arn:aws:s3:::{b}/*" for b in write],
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


PROVISION_SCRIPT = """\
set -eu
mkdir -p "$HOME/.mc/certs/CAs" && cp /ca/ca.crt "$HOME/.mc/certs/CAs/site-ca.crt"
ACCESS_KEY=$(cat /user/AWS_ACCESS_KEY_ID)
mc alias set platform "$ENDPOINT" "$(cat /root-credentials/rootUser)" "$(cat /root-credentials/rootPassword)" >/dev/null
mc admin user add platform "$ACCESS_KEY" "$(cat /user/AWS_SECRET_ACCESS_KEY)"
mc admin policy create platform "$POLICY" /policy/policy.json
mc admin policy attach platform "$POLICY" --user "$ACCESS_KEY" \
  || mc admin user info platform "$ACCESS_KEY" | grep -q "$POLICY"
"""
"""Creates (or updates) one MinIO user and its policy; every step is idempotent, so re-runs are safe. Credentials
are read from mounted Secret files, never from the environment."""
CREDENTIALS_DIR = "/etc/object-store"
CREDENTIALS_FILE = "credentials"
"""The workload Secret's key in AWS shared-credentials format (``AWS_SHARED_CREDENTIALS_FILE``)."""


def shared_credentials(access_key: str, secret_key: str) -> str:
    return f"[default]\naws_access_key_id = {access_key}\naws_secret_access_key = {secret_key}\n"


class OnPremIdentities:
    """No cloud identity on-prem: each ServiceAccount gets its own MinIO user whose policy allows exactly the
    granted buckets. The keys are generated (Pulumi secrets), provisioned into MinIO by a Job in the object
    store's namespace (with the root credentials that never leave that namespace), and handed to the workload as
    ``<service-account>-object-store`` (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``) in its namespace."""

    def __init__(
        self,
        *,
        buckets: Mapping[str, pulumi.Input[str]],
        object_store_endpoint: pulumi.Input[str],
        object_store_namespace: pulumi.Input[str],
        object_store_ca_secret: str,
        namespaces: Mapping[str, pulumi.Input[str]] | None = None,
        root_credentials_secret: str = "minio-root",
        client_image: versions.Image = versions.MINIO_CLIENT_IMAGE,
    ) -> None:
        self.buckets = dict(buckets)
        self.object_store_endpoint = object_store_endpoint
        self.object_store_namespace = object_store_namespace
        self.object_store_ca_secret = object_store_ca_secret
        self.namespaces = dict(namespaces or {})
        """Namespace name -> its name output, so a workload's Secret is made after its namespace."""
        self.root_credentials_secret = root_credentials_secret
        self.client_image = client_image

    def bind(
        self, name: str, *, namespace: str, service_account: str, grants: list[BucketGrant], parent: pulumi.Resource
    ) -> IdentityBinding:
        from pulumi_kubernetes.batch.v1 import Job
        from pulumi_kubernetes.core.v1 import Secret
        from pulumi_random import RandomPassword

        from components.services.feature_server import RESTRICTED_CONTAINER, RESTRICTED_POD

        check_grants(grants, self.buckets)
        child = pulumi.ResourceOptions(parent=parent)
        secret_name = f"{service_account}-object-store"
        access = RandomPassword(f"{name}-access-key", length=20, special=False, upper=False, opts=child)
        secret = RandomPassword(f"{name}-secret-key", length=40, special=False, opts=child)
        keys = {
            "AWS_ACCESS_KEY_ID": pulumi.Output.secret(access.result),
            "AWS_SECRET_ACCESS_KEY": pulumi.Output.secret(secret.result),
            CREDENTIALS_FILE: pulumi.Output.secret(
                pulumi.Output.all(access.result, secret.result).apply(lambda v: shared_credentials(v[0], v[1]))
            ),
        }
        workload_namespace = self.namespaces.get(namespace, namespace)
        for key, ns in (("workload", workload_namespace), ("provisioning", self.object_store_namespace)):
            Secret(
                f"{name}-{key}-keys",
                metadata={"name": secret_name, "namespace": ns},
                type="Opaque",
                string_data=keys,
                opts=child,
            )
        policy_name = f"mlops-{name}"
        policy = pulumi.Output.all(*[self.buckets[g.bucket] for g in grants]).apply(
            lambda uris: minio_policy(
                [(u.removeprefix("s3://").split("/", 1)[0], g.access) for u, g in zip(uris, grants, strict=True)]
            )
        )
        policy_map = Secret(
            f"{name}-policy",
            metadata={"name": f"{policy_name}-policy", "namespace": self.object_store_namespace},
            type="Opaque",
            string_data={"policy.json": policy},
            opts=child,
        )

        # Jobs are immutable: the name carries the policy's hash, so a changed policy runs a new Job.
        job_name = policy.apply(lambda text: f"{policy_name}-{hashlib.sha256(text.encode()).hexdigest()[:8]}")
        Job(
            f"{name}-provision",
            metadata={"namespace": self.object_store_namespace, "name": job_name},
            spec={
                "backoffLimit": 6,
                "ttlSecondsAfterFinished": 3600,
                "template": {
                    "spec": {
                        "restartPolicy": "OnFailure",
                        "automountServiceAccountToken": False,
                        "securityContext": RESTRICTED_POD,
                        "containers": [
                            {
                                "name": "mc",
                                "image": self.client_image.reference,
                                "command": ["/bin/sh", "-c", PROVISION_SCRIPT],
                                "imagePullPolicy": "Always",
                                "env": [
                                    {"name": "HOME", "value": "/tmp"},
                                    {"name": "ENDPOINT", "value": self.object_store_endpoint},
                                    {"name": "POLICY", "value": policy_name},
                                ],
                                "resources": {
                                    "requests": {"cpu": "50m", "memory": "64Mi"},
                                    "limits": {"cpu": "500m", "memory": "256Mi"},
                                },
                                "securityContext": RESTRICTED_CONTAINER,
                                "volumeMounts": [
                                    {"name": "tmp", "mountPath": "/tmp"},
                                    {"name": "ca", "mountPath": "/ca", "readOnly": True},
                                    {"name": "policy", "mountPath": "/policy", "readOnly": True},
                                    {"name": "root-credentials", "mountPath": "/root-credentials", "readOnly": True},
                                    {"name": "user", "mountPath": "/user", "readOnly": True},
                                ],
                            }
                        ],
                        "volumes": [
                            {"name": "tmp", "emptyDir": {}},
                            {
                                "name": "ca",
                                "secret": {
                                    "secretName": self.object_store_ca_secret,
                                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                },
                            },
                            {"name": "policy", "secret": {"secretName": policy_map.metadata.name}},
                            {"name": "root-credentials", "secret": {"secretName": self.root_credentials_secret}},
                            {"name": "user", "secret": {"secretName": secret_name}},
                        ],
                    }
                },
            },
            opts=child,
        )
        return IdentityBinding(
            # KServe's storage initializer reads S3 settings from the ServiceAccount and keys from its secrets.
            service_account_annotations={
                "serving.kserve.io/s3-endpoint": pulumi.Output.from_input(self.object_store_endpoint).apply(
                    lambda e: e.removeprefix("https://")
                ),
                "serving.kserve.io/s3-usehttps": "1",
            },
            service_account_secrets=[secret_name],
            env=[
                {"name": "AWS_ENDPOINT_URL_S3", "value": self.object_store_endpoint},
                {"name": "AWS_SHARED_CREDENTIALS_FILE", "value": f"{CREDENTIALS_DIR}/{CREDENTIALS_FILE}"},
            ],
            volumes=[
                {
                    "name": "object-store-credentials",
                    "secret": {
                        "secretName": secret_name,
                        "items": [{"key": CREDENTIALS_FILE, "path": CREDENTIALS_FILE}],
                    },
                }
            ],
            volume_mounts=[{"name": "object-store-credentials", "mountPath": CREDENTIALS_DIR, "readOnly": True}],
        )


@dataclass
class OnPremFeatureDataArgs:
    namespace: pulumi.Input[str]
    """The feature-store namespace (PSA restricted, default-deny): the databases run next to the feature server."""
    storage_class: str
    """The site's encrypted StorageClass."""
    certificate_issuer: str
    """cert-manager ClusterIssuer (the site CA) signing the servers' certificates."""
    client_namespaces: Sequence[str]
    """Namespaces whose pods may connect (the feature store's own, the pipeline namespaces for materialization)."""
    namespace_name: str = "feature-store"
    registry_volume_size: str = "50Gi"
    online_volume_size: str = "20Gi"
    redis_replicas: int = 2
    cluster_domain: str = "cluster.local"
    postgres_chart: versions.HelmChart = versions.POSTGRESQL
    redis_chart: versions.HelmChart = versions.REDIS
    extra_labels: Mapping[str, str] = field(default_factory=dict)

    def host(self, service: str) -> str:
        return f"{service}.{self.namespace_name}.svc.{self.cluster_domain}"


class OnPremFeatureData(pulumi.ComponentResource):
    """In-cluster PostgreSQL and Redis for Feast, TLS and auth on, on encrypted volumes."""

    registry_host: str
    registry_password: pulumi.Output[str]
    redis_host: str
    redis_password: pulumi.Output[str]
    ca_secret: str
    """Secret (in the namespace) whose ``ca.crt`` verifies both servers."""

    def __init__(self, name: str, args: OnPremFeatureDataArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:services:OnPremFeatureData", name, None, opts)
        from pulumi_kubernetes.apiextensions import CustomResource
        from pulumi_kubernetes.core.v1 import Secret
        from pulumi_kubernetes.networking.v1 import NetworkPolicy
        from pulumi_random import RandomPassword

        child = pulumi.ResourceOptions(parent=self)
        ns = args.namespace
        admin = RandomPassword(f"{name}-registry-admin-password", length=40, special=False, opts=child)
        user = RandomPassword(f"{name}-registry-password", length=40, special=False, opts=child)
        redis_password = RandomPassword(f"{name}-online-password", length=48, special=False, opts=child)
        registry_secret = Secret(
            f"{name}-registry",
            metadata={"name": REGISTRY_SECRET, "namespace": ns},
            type="Opaque",
            string_data={
                "postgres-password": pulumi.Output.secret(admin.result),
                "password": pulumi.Output.secret(user.result),
            },
            opts=child,
        )
        online_secret = Secret(
            f"{name}-online",
            metadata={"name": ONLINE_SECRET, "namespace": ns},
            type="Opaque",
            string_data={"redis-password": pulumi.Output.secret(redis_password.result)},
            opts=child,
        )

        def certificate(key: str, secret: str, services: list[str]):
            names = [
                n
                for s in services
                for n in (s, f"{s}.{args.namespace_name}", f"{s}.{args.namespace_name}.svc", args.host(s))
            ]
            return CustomResource(
                f"{name}-{key}-tls",
                api_version="cert-manager.io/v1",
                kind="Certificate",
                metadata={"name": secret, "namespace": ns},
                spec={
                    "secretName": secret,
                    "duration": "2160h",
                    "renewBefore": "360h",
                    "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                    "usages": ["server auth", "client auth", "digital signature"],
                    "dnsNames": names,
                    "issuerRef": {"name": args.certificate_issuer, "kind": "ClusterIssuer", "group": "cert-manager.io"},
                },
                opts=child,
            )

        registry_cert = certificate("registry", REGISTRY_TLS_SECRET, [REGISTRY_RELEASE, f"{REGISTRY_RELEASE}-hl"])
        online_cert = certificate(
            "online",
            ONLINE_TLS_SECRET,
            [
                f"{ONLINE_RELEASE}-master",
                f"{ONLINE_RELEASE}-replicas",
                f"{ONLINE_RELEASE}-headless",
                f"*.{ONLINE_RELEASE}-headless",
            ],
        )

        def admit(key: str, instance: str, port: int, peers_replicate: bool) -> None:
            selector = {"matchLabels": {"app.kubernetes.io/instance": instance}}
            ingress_from = [
                {
                    "namespaceSelector": {
                        "matchExpressions": [
                            {"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": list(args.client_namespaces)}
                        ]
                    }
                }
            ]
            spec: dict[str, Any] = {
                "podSelector": selector,
                "policyTypes": ["Ingress"],
                "ingress": [{"from": ingress_from, "ports": [{"protocol": "TCP", "port": port}]}],
            }
            if peers_replicate:  # replicas follow the primary inside the release
                spec["policyTypes"] = ["Ingress", "Egress"]
                spec["ingress"].append(
                    {"from": [{"podSelector": selector}], "ports": [{"protocol": "TCP", "port": port}]}
                )
                spec["egress"] = [{"to": [{"podSelector": selector}], "ports": [{"protocol": "TCP", "port": port}]}]
            NetworkPolicy(
                f"{name}-{key}-clients",
                metadata={"name": f"{instance}-clients", "namespace": ns},
                spec=spec,
                opts=child,
            )

        admit("registry", REGISTRY_RELEASE, POSTGRES_PORT, peers_replicate=False)
        admit("online", ONLINE_RELEASE, REDIS_PORT, peers_replicate=True)

        def release(key: str, release_name: str, chart: versions.HelmChart, values: dict, deps: list) -> Any:
            return pinned_release(
                f"{name}-{key}",
                release_name,
                chart,
                ns,
                values=values,
                timeout=900,
                opts=pulumi.ResourceOptions(parent=self, depends_on=deps),
            )

        registry = release(
            "registry",
            REGISTRY_RELEASE,
            args.postgres_chart,
            postgres_values(storage_class=args.storage_class, volume_size=args.registry_volume_size),
            [registry_secret, registry_cert],
        )
        online = release(
            "online",
            ONLINE_RELEASE,
            args.redis_chart,
            redis_values(
                storage_class=args.storage_class, volume_size=args.online_volume_size, replicas=args.redis_replicas
            ),
            [online_secret, online_cert],
        )
        self.registry_host = args.host(REGISTRY_RELEASE)
        self.redis_host = args.host(f"{ONLINE_RELEASE}-master")
        self.registry_password = pulumi.Output.secret(user.result)
        self.redis_password = pulumi.Output.secret(redis_password.result)
        self.ca_secret = REGISTRY_TLS_SECRET
        self.releases = [registry, online]
        self.register_outputs({"registryHost": self.registry_host, "redisHost": self.redis_host})

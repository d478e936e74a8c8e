"""The Feast feature server in the cluster: Deployment, Service, HPA, PDB, ServiceAccount and NetworkPolicies.

Target-neutral: the cloud identity arrives as an :class:`~components.services.identity.IdentityBinding`, the
configuration as the name of a Secret holding ``feature_store.yaml``, and the egress the server needs (to the
registry, the online store and the object store) as NetworkPolicy rules from the target module.

Hardened for PSA ``restricted``: non-root, read-only root file system (an emptyDir for /tmp), no privilege
escalation, every capability dropped, seccomp RuntimeDefault, no Kubernetes API token (the cloud identity's
webhook projects its own audience-bound token); requests and limits; liveness and readiness probes on ``/health``. Reachable only from the
ML namespaces, on its one port, through a ClusterIP Service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components import versions
from components.errors import InputError
from components.kubernetes.namespace import namespaces_named
from components.services import db_tls
from components.services.identity import IdentityBinding

NAME = "feast-feature-server"
PORT = 6566
REPO_DIR = "/feature_repo"
CA_DIR = "/etc/feast/ca"
RUN_AS = 10001

RESTRICTED_CONTAINER = {
    "runAsNonRoot": True,
    "runAsUser": RUN_AS,
    "runAsGroup": RUN_AS,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""The container security context every platform-built workload uses (PSA restricted and more)."""
RESTRICTED_POD = {
    "runAsNonRoot": True,
    "runAsUser": RUN_AS,
    "runAsGroup": RUN_AS,
    "fsGroup": RUN_AS,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def service_host(namespace: str, cluster_domain: str = "cluster.local") -> str:
    return f"{NAME}.{namespace}.svc.{cluster_domain}"


@dataclass
class FeatureServerArgs:
    namespace: pulumi.Input[str]
    """The feature-store namespace (its name output, so the server waits for it)."""
    config_secret: pulumi.Input[str]
    """Secret with the rendered ``feature_store.yaml``."""
    identity: IdentityBinding
    """Cloud identity for the offline store (annotations, pod labels, env)."""
    client_namespaces: Sequence[str]
    """The only namespaces whose pods may call the server."""
    egress: Sequence[dict[str, Any]]
    """NetworkPolicy egress rules to the registry, the online store and the object store."""
    ca_secret: str | None = None
    """Secret whose ``ca.crt`` verifies private-CA servers (on-prem); mounted at ``/etc/feast/ca``."""
    ca_config_map: str | None = None
    """ConfigMap of the CA bundle the registry and online store are verified with (clouds,
    :mod:`components.services.db_tls`); mounted at ``/etc/mlops/db-ca``. Not made the AWS SDK's bundle: the object
    store keeps the system trust store."""
    image: versions.Image = versions.FEAST_FEATURE_SERVER_IMAGE
    min_replicas: int = 2
    max_replicas: int = 6
    target_cpu_utilization: int = 70
    workers: int = 2
    resources: dict[str, dict[str, str]] = field(
        default_factory=lambda: {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    )
    service_account: str = "feast-feature-server"

    def __post_init__(self) -> None:
        if not 1 <= self.min_replicas <= self.max_replicas:
            raise InputError("FeatureServerArgs: need 1 <= min_replicas <= max_replicas")
        if not self.client_namespaces:
            raise InputError("FeatureServerArgs.client_namespaces: name at least one namespace that may call it")


def pod_spec(args: FeatureServerArgs) -> dict[str, Any]:
    """The server's pod spec (a plain dict, so tests and the gate read exactly what is deployed)."""
    mounts = [
        {"name": "config", "mountPath": REPO_DIR, "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
        *args.identity.volume_mounts,
    ]
    volumes: list[dict[str, Any]] = [
        {
            "name": "config",
            "secret": {
                "secretName": args.config_secret,
                "defaultMode": 0o440,
                "items": [{"key": "feature_store.yaml", "path": "feature_store.yaml"}],
            },
        },
        {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
        *args.identity.volumes,
    ]
    env = [{"name": "HOME", "value": "/tmp"}, *args.identity.env]
    if args.ca_secret:
        mounts.append({"name": "ca", "mountPath": CA_DIR, "readOnly": True})
        volumes.append(
            {"name": "ca", "secret": {"secretName": args.ca_secret, "items": [{"key": "ca.crt", "path": "ca.crt"}]}}
        )
        env.append({"name": "AWS_CA_BUNDLE", "value": f"{CA_DIR}/ca.crt"})
    if args.ca_config_map:
        mounts.append({"name": "db-ca", "mountPath": db_tls.MOUNT_DIR, "readOnly": True})
        volumes.append({"name": "db-ca", "configMap": {"name": args.ca_config_map, "defaultMode": 0o444}})
    probe = {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 10, "timeoutSeconds": 3}
    return {
        "serviceAccountName": args.service_account,
        # The IRSA / workload-identity webhooks project their own audience-bound token; no API token is mounted.
        "automountServiceAccountToken": False,
        "securityContext": RESTRICTED_POD,
        "containers": [
            {
                "name": "feature-server",
                "image": args.image.reference,
                "imagePullPolicy": "Always",
                "command": [
                    "feast",
                    "--chdir",
                    REPO_DIR,
                    "serve",
                    "--host",
                    "0.0.0.0",
                    "--port",
                    str(PORT),
                    "--workers",
                    str(args.workers),
                    "--no-access-log",
                ],
                "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
                "env": env,
                "resources": args.resources,
                "readinessProbe": {**probe, "initialDelaySeconds": 5, "failureThreshold": 3},
                "livenessProbe": {**probe, "initialDelaySeconds": 30, "failureThreshold": 6},
                "securityContext": RESTRICTED_CONTAINER,
                "volumeMounts": mounts,
            }
        ],
        "volumes": volumes,
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
            }
        ],
    }


class FeatureServer(pulumi.ComponentResource):
    """Feast's HTTP feature server, private to the ML namespaces."""

    endpoint: pulumi.Output[str]

    def __init__(self, name: str, args: FeatureServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:services:FeatureServer", name, None, opts)
        from pulumi_kubernetes.apps.v1 import Deployment
        from pulumi_kubernetes.autoscaling.v2 import HorizontalPodAutoscaler
        from pulumi_kubernetes.core.v1 import Service, ServiceAccount
        from pulumi_kubernetes.networking.v1 import NetworkPolicy
        from pulumi_kubernetes.policy.v1 import PodDisruptionBudget

        child = pulumi.ResourceOptions(parent=self)
        ns = args.namespace
        labels = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "mlops-platform"}
        selector = {"matchLabels": {"app.kubernetes.io/name": NAME}}
        account = ServiceAccount(
            f"{name}-sa",
            metadata={
                "name": args.service_account,
                "namespace": ns,
                "labels": labels,
                "annotations": dict(args.identity.service_account_annotations),
            },
            automount_service_account_token=False,
            opts=child,
        )
        deployment = Deployment(
            name,
            metadata={"name": NAME, "namespace": ns, "labels": labels},
            spec={
                "replicas": args.min_replicas,
                "selector": selector,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                "template": {"metadata": {"labels": {**labels, **args.identity.pod_labels}}, "spec": pod_spec(args)},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account]),
        )
        service = Service(
            name,
            metadata={"name": NAME, "namespace": ns, "labels": labels},
            spec={
                "type": "ClusterIP",
                "selector": {"app.kubernetes.io/name": NAME},
                "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
            },
            opts=child,
        )
        HorizontalPodAutoscaler(
            name,
            metadata={"name": NAME, "namespace": ns, "labels": labels},
            spec={
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment.metadata.name},
                "minReplicas": args.min_replicas,
                "maxReplicas": args.max_replicas,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": args.target_cpu_utilization},
                        },
                    }
                ],
            },
            opts=child,
        )
        PodDisruptionBudget(
            name,
            metadata={"name": NAME, "namespace": ns, "labels": labels},
            spec={"minAvailable": 1, "selector": selector},
            opts=child,
        )
        NetworkPolicy(
            f"{name}-ingress",
            metadata={"name": f"{NAME}-ingress", "namespace": ns},
            spec={
                "podSelector": selector,
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [namespaces_named(*args.client_namespaces)],
                        "ports": [{"protocol": "TCP", "port": PORT}],
                    }
                ],
            },
            opts=child,
        )
        NetworkPolicy(
            f"{name}-egress",
            metadata={"name": f"{NAME}-egress", "namespace": ns},
            spec={"podSelector": selector, "policyTypes": ["Egress"], "egress": list(args.egress)},
            opts=child,
        )
        self.endpoint = pulumi.Output.concat(
            "http://", service.metadata.name, ".", ns, ".svc.cluster.local:", str(PORT)
        )
        self.register_outputs({"endpoint": self.endpoint})

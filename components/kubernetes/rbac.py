"""Kubernetes RBAC for the platform's three roles, bound to the enterprise IdP groups of the stack config.

- platform-admin: everything, cluster-wide: a ClusterRoleBinding to the built-in ``cluster-admin`` role (not a
  copy of it: a second wildcard role is one more thing to audit and drift).
- ml-engineer: manages workloads (Deployments, Jobs, KFP runs, ...) in the ML namespaces only (RoleBindings
  there), and reads cluster-level facts (nodes, namespaces, storage classes). No Secrets, no RBAC, no NetworkPolicy
  writes: those stay with platform-admin. KServe objects are read-only: what is served changes only through the
  release gate and the deploy identity (components/security/admission.py).
- data-scientist: reads the ML namespaces, and submits pipelines where pipelines run.
No role defined here has a wildcard verb, resource or API group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.errors import InputError

RBAC_GROUP = "rbac.authorization.k8s.io"
READ = ["get", "list", "watch"]
WRITE = ["get", "list", "watch", "create", "update", "patch", "delete"]
KFP_RESOURCES = ["pipelines", "pipelines/versions", "experiments", "runs", "jobs"]
KSERVE_RESOURCES = ["inferenceservices", "servingruntimes", "inferencegraphs", "trainedmodels"]
ARGO_RESOURCES = ["workflows", "workflowtemplates", "cronworkflows"]

CLUSTER_ADMIN = "cluster-admin"
"""The built-in ClusterRole platform-admins are bound to."""
ML_ENGINEER = "mlops:ml-engineer"
DATA_SCIENTIST = "mlops:data-scientist"
PIPELINE_SUBMITTER = "mlops:pipeline-submitter"
CLUSTER_VIEWER = "mlops:cluster-viewer"

ROLE_RULES: dict[str, list[dict[str, Any]]] = {
    ML_ENGINEER: [
        {"apiGroups": [""], "resources": ["pods", "services", "configmaps", "persistentvolumeclaims"], "verbs": WRITE},
        {"apiGroups": [""], "resources": ["pods/log", "events", "serviceaccounts", "endpoints"], "verbs": READ},
        {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets", "deployments/scale"], "verbs": WRITE},
        {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": READ},
        {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": WRITE},
        {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": WRITE},
        {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": WRITE},
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies", "ingresses"], "verbs": READ},
        {"apiGroups": ["serving.kserve.io"], "resources": KSERVE_RESOURCES, "verbs": READ},
        {
            "apiGroups": ["pipelines.kubeflow.org"],
            "resources": KFP_RESOURCES,
            "verbs": [*WRITE, "archive", "unarchive", "terminate", "retry", "readArtifact", "enable", "disable"],
        },
        {"apiGroups": ["argoproj.io"], "resources": ARGO_RESOURCES, "verbs": WRITE},
    ],
    DATA_SCIENTIST: [
        {
            "apiGroups": [""],
            "resources": ["pods", "pods/log", "services", "configmaps", "events", "persistentvolumeclaims"],
            "verbs": READ,
        },
        {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"], "verbs": READ},
        {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": READ},
        {"apiGroups": ["serving.kserve.io"], "resources": KSERVE_RESOURCES, "verbs": READ},
        {"apiGroups": ["pipelines.kubeflow.org"], "resources": KFP_RESOURCES, "verbs": [*READ, "readArtifact"]},
        {"apiGroups": ["argoproj.io"], "resources": ["workflows"], "verbs": READ},
    ],
    PIPELINE_SUBMITTER: [
        {
            "apiGroups": ["pipelines.kubeflow.org"],
            "resources": ["pipelines", "pipelines/versions", "experiments"],
            "verbs": ["create"],
        },
        {"apiGroups": ["pipelines.kubeflow.org"], "resources": ["runs"], "verbs": ["create", "terminate", "retry"]},
    ],
    CLUSTER_VIEWER: [
        {"apiGroups": [""], "resources": ["nodes", "namespaces"], "verbs": READ},
        {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": READ},
        {"apiGroups": ["node.k8s.io"], "resources": ["runtimeclasses"], "verbs": READ},
    ],
}
"""Each ClusterRole's rules. Namespaced roles are ClusterRoles granted per namespace by RoleBindings."""


def group_subjects(groups: Sequence[str]) -> list[dict[str, str]]:
    """RBAC subjects for IdP groups (as the cluster's authenticator names them: EKS access-entry groups, Entra ID
    group object ids, OIDC ``groups`` claims)."""
    return [{"kind": "Group", "apiGroup": RBAC_GROUP, "name": g} for g in groups]


@dataclass
class PlatformRbacArgs:
    platform_admin_groups: Sequence[str]
    """IdP groups with full control of the cluster."""
    ml_engineer_groups: Sequence[str]
    """IdP groups that run and operate ML workloads."""
    data_scientist_groups: Sequence[str]
    """IdP groups that explore results and submit pipelines."""
    workload_namespaces: Mapping[str, pulumi.Input[str]]
    """ML namespaces (static name -> the namespace's name output, for ordering) where engineers manage workloads
    and scientists read."""
    pipeline_namespaces: Sequence[str]
    """Subset of ``workload_namespaces`` where data scientists may submit pipeline runs."""


class PlatformRbac(pulumi.ComponentResource):
    """ClusterRoles for the platform's roles and the bindings of the configured IdP groups to them (platform-admins
    to the built-in ``cluster-admin``)."""

    cluster_roles: dict[str, pulumi.Output[str]]

    def __init__(self, resource_name: str, args: PlatformRbacArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:kubernetes:PlatformRbac", resource_name, None, opts)
        from pulumi_kubernetes.rbac.v1 import ClusterRole, ClusterRoleBinding, RoleBinding

        unknown = sorted(set(args.pipeline_namespaces) - set(args.workload_namespaces))
        if unknown:
            raise InputError(f"pipeline_namespaces {unknown} are not among workload_namespaces")
        child = pulumi.ResourceOptions(parent=self)
        roles = {
            role: ClusterRole(
                f"{resource_name}-{role.split(':', 1)[1]}",
                metadata={"name": role, "labels": {"app.kubernetes.io/part-of": "mlops-platform"}},
                rules=rules,
                opts=child,
            )
            for role, rules in ROLE_RULES.items()
        }

        def cluster_binding(role: pulumi.Input[str], groups: Sequence[str], suffix: str) -> None:
            ClusterRoleBinding(
                f"{resource_name}-{suffix}",
                metadata={"name": f"mlops:{suffix}"},
                role_ref={"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
                subjects=group_subjects(groups),
                opts=child,
            )

        def namespace_binding(role: str, groups: Sequence[str], key: str, namespace: pulumi.Input[str]) -> None:
            short = role.split(":", 1)[1]
            RoleBinding(
                f"{resource_name}-{short}-{key}",
                metadata={"name": role, "namespace": namespace},
                role_ref={"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": roles[role].metadata.name},
                subjects=group_subjects(groups),
                opts=child,
            )

        cluster_binding(CLUSTER_ADMIN, args.platform_admin_groups, "platform-admin")
        viewers = [*args.ml_engineer_groups, *args.data_scientist_groups]
        cluster_binding(roles[CLUSTER_VIEWER].metadata.name, viewers, "cluster-viewer")
        for key, namespace in args.workload_namespaces.items():
            namespace_binding(ML_ENGINEER, args.ml_engineer_groups, key, namespace)
            namespace_binding(DATA_SCIENTIST, args.data_scientist_groups, key, namespace)
            if key in args.pipeline_namespaces:
                namespace_binding(PIPELINE_SUBMITTER, args.data_scientist_groups, key, namespace)

        self.cluster_roles = {role: r.metadata.name for role, r in roles.items()}
        self.register_outputs({"clusterRoles": self.cluster_roles})

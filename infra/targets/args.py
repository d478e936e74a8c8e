"""Adapters from the stack config to the Args of the in-cluster layers every target shares (baseline, services,
training). Components take only their typed Args and never see :class:`~infra.config.StackConfig`; the conversions
live here, and in the target modules for what only one target makes."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pulumi

from components import gpu
from components.buckets import BucketSpec
from infra.config import Bucket, OnPrem, StackConfig
from policies.organisation import stack_file

if TYPE_CHECKING:
    from components.kubernetes.baseline import ClusterBaselineArgs
    from components.services.services import ServicesArgs
    from components.training.platform import TrainingPlatformArgs
    from infra.targets import TargetCluster


def current_stack_file() -> str:
    """The running stack's file, as messages name it."""
    return stack_file(pulumi.get_stack())


def bucket_spec(bucket: Bucket) -> BucketSpec:
    """One ``mlops:buckets[]`` entry as components see it (its expiry resolved)."""
    return BucketSpec(
        name=bucket.name,
        purpose=bucket.purpose,
        versioning=bucket.versioning,
        object_lock_days=bucket.object_lock_days,
        expire_noncurrent_after_days=bucket.expire_noncurrent_after_days,
        transition_to_infrequent_after_days=bucket.transition_to_infrequent_after_days,
        expiry_days=bucket.expiry_days,
    )


def bucket_specs(cfg: StackConfig) -> list[BucketSpec]:
    return [bucket_spec(b) for b in cfg.buckets]


def cluster_baseline_args(cfg: StackConfig) -> ClusterBaselineArgs:
    from components.kubernetes.baseline import ClusterBaselineArgs

    tolerations = [gpu.GPU_TOLERATION]
    for pool in cfg.gpu_pools:
        for taint in pool.taints:
            toleration = {"key": taint.key, "operator": "Equal", "value": taint.value, "effect": taint.effect}
            if toleration not in tolerations:
                tolerations.append(toleration)
    return ClusterBaselineArgs(
        kubernetes_version=cfg.kubernetes_version,
        platform_admin_groups=list(cfg.identity.platform_admin),
        ml_engineer_groups=list(cfg.identity.ml_engineer),
        data_scientist_groups=list(cfg.identity.data_scientist),
        gpu_driver_preinstalled=cfg.safeguards.gpu_driver_preinstalled,
        gpu_tolerations=tolerations,
    )


def platform_services_args(cfg: StackConfig, cluster: TargetCluster) -> ServicesArgs:
    """Args for the stack; refuses (:class:`~components.errors.InputError`) a stack that lacks the buckets the
    services need."""
    from components import versions
    from components.kubernetes.namespace import psa_version
    from components.services.model_artifacts import check_service_buckets
    from components.services.services import ServicesArgs

    stack = pulumi.get_stack()
    check_service_buckets(bucket_specs(cfg), stack_file(stack))
    if cfg.target == "azure":
        prefix = (
            f"mlops-{cfg.environment}-" + hashlib.sha256(f"{pulumi.get_project()}/{stack}".encode()).hexdigest()[:6]
        )
    else:
        prefix = re.sub(r"[^a-z0-9-]+", "-", stack.lower()).strip("-")
    return ServicesArgs(
        target=cfg.target,
        region=cfg.region,
        production=cfg.environment == "prod",
        pod_security_version=psa_version(cfg.kubernetes_version),
        buckets=dict(cluster.buckets),
        network=dict(cluster.network),
        workload_identity=dict(cluster.workload_identity),
        vpc_cidr=cfg.network.cidr if cfg.network else None,
        encryption_key=cluster.encryption_key,
        egress=cluster.egress,
        name_prefix=prefix,
        tags=dict(cfg.tags),
        certificate_issuer=(cfg.onprem or OnPrem()).certificate_issuer,
        postgres_subnet_cidr=_free_subnet(cfg) if cfg.target == "azure" else None,
        mysql_subnet_cidr=_free_subnet(cfg, _free_subnet(cfg)) if cfg.target == "azure" else None,
        model_server_repository=cfg.model_server_repository or versions.MODEL_SERVER_REPOSITORY,
    )


def _free_subnet(cfg: StackConfig, *taken: str) -> str:
    """The first free /28 of the VNet outside its private subnets and ``taken`` (other delegated subnets)."""
    from components.services.azure import free_subnet

    assert cfg.network is not None  # the schema requires it on azure
    return free_subnet(cfg.network.cidr, [*cfg.network.private_subnets, *taken])


def training_platform_args(
    cfg: StackConfig,
    *,
    pod_security_version: str,
    pipelines_namespace: str,
    runner_service_account: str,
    api_server_egress: Sequence[dict[str, Any]],
    namespaces: Sequence[pulumi.Resource] = (),
) -> TrainingPlatformArgs:
    from components.training.platform import TrainingPlatformArgs
    from components.training.quotas import TeamQuota

    teams = [
        TeamQuota(
            name=t.name,
            namespace=t.namespace,
            gpus=cfg.team_gpu_quota(t),
            cpu=t.cpu_quota,
            memory=t.memory_quota,
            pods=t.pods,
        )
        for t in cfg.teams
    ]
    return TrainingPlatformArgs(
        pod_security_version=pod_security_version,
        gpu_capacity=cfg.gpu_capacity,
        teams=teams,
        pipelines_namespace=pipelines_namespace,
        runner_service_account=runner_service_account,
        api_server_egress=api_server_egress,
        namespaces=namespaces,
    )

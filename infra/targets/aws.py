"""AWS target: private VPC, KMS keys, EKS with CPU and GPU node groups, S3 buckets, CloudTrail and GuardDuty.

Every AWS resource goes through one provider pinned to the stack's (residency-checked) region, whatever
``aws:region`` says, and carries the stack's tags.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pulumi

from infra.config import Bucket, ConfigError, NodePool, StackConfig
from infra.targets import TargetCluster
from infra.targets.args import current_stack_file
from infra.targets.egress import egress_endpoints

if TYPE_CHECKING:
    from components.aws.bucket import SecureBucketArgs
    from components.aws.karpenter import GpuNodePool
    from components.aws.node_group import ManagedNodeGroupArgs

AUTOSCALING_SERVICE_ROLE = "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
"""Launches the node groups' instances, so the key policy lets it use the key of their encrypted root volumes.
KMS refuses a key policy naming a role that does not exist: in an account that never used EC2 Auto Scaling or EKS
node groups, create it once first (``aws iam create-service-linked-role --aws-service-name autoscaling.amazonaws.com``).
"""
PLATFORM_BUCKETS = ("access-logs", "audit-trail")
"""Buckets the target makes on top of the stack's: server access logs and the CloudTrail trail."""
BUCKET_NAME_MAX = 63
ACCOUNT_ID_LEN = 12


def secure_bucket_args(
    bucket: Bucket,
    *,
    bucket_name: pulumi.Input[str],
    kms_key_arn: pulumi.Input[str],
    access_log_bucket: pulumi.Input[str],
    tags: Mapping[str, str],
) -> SecureBucketArgs:
    """Args for one ``mlops:buckets[]`` entry."""
    from components.aws.bucket import SecureBucketArgs

    return SecureBucketArgs(
        bucket_name=bucket_name,
        kms_key_arn=kms_key_arn,
        access_log_bucket=access_log_bucket,
        versioning=bucket.versioning,
        expire_noncurrent_after_days=bucket.expire_noncurrent_after_days,
        transition_to_infrequent_after_days=bucket.transition_to_infrequent_after_days,
        object_lock_days=bucket.object_lock_days,
        expire_after_days=bucket.expiry_days,
        tags={**tags, "purpose": bucket.purpose},
    )


def node_group_args(pool: NodePool, **common: Any) -> ManagedNodeGroupArgs:
    """Args for one ``mlops:nodePools[]`` entry."""
    from components.aws.node_group import ManagedNodeGroupArgs

    return ManagedNodeGroupArgs(
        pool=pool.name,
        kind=pool.kind,
        instance_type=pool.instance_type,
        min_size=pool.min_size,
        max_size=pool.max_size,
        desired_size=pool.desired,
        capacity=pool.capacity,
        disk_size_gb=pool.disk_size_gb,
        gpu_model=pool.gpu_model,
        gpu_count=pool.gpu_count,
        labels=dict(pool.labels),
        taints=[t.model_dump() for t in pool.taints],
        **common,
    )


def gpu_node_pool(pool: NodePool) -> GpuNodePool:
    """One GPU pool as Karpenter provisions it: the pool's nodes beyond ``minSize`` (which its managed node group
    keeps) are Karpenter's."""
    from components.aws.karpenter import GpuNodePool

    return GpuNodePool(
        pool=pool.name,
        instance_type=pool.instance_type,
        gpu_model=pool.gpu_model,
        gpu_count=pool.gpu_count,
        max_gpus=(pool.max_size - pool.min_size) * pool.gpu_count,
        capacity=pool.capacity,
        disk_size_gb=pool.disk_size_gb,
        labels=dict(pool.labels),
        taints=[t.model_dump() for t in pool.taints],
    )


def _stack_slug() -> str:
    """The stack name as an S3/EKS-safe prefix."""
    return re.sub(r"[^a-z0-9-]+", "-", pulumi.get_stack().lower()).strip("-")


def _check_bucket_names(slug: str, cfg: StackConfig) -> None:
    """Bucket names are ``<stack>-<name>-<account id>`` (global, deterministic); refuse one S3 cannot take."""
    path = current_stack_file()
    named = [(f"mlops:buckets[{i}].name", b.name) for i, b in enumerate(cfg.buckets)]
    for key, name in [*((None, n) for n in PLATFORM_BUCKETS), *named]:
        length = len(slug) + len(name) + ACCOUNT_ID_LEN + 2
        if length <= BUCKET_NAME_MAX:
            continue
        what = f"{key} = {name!r}" if key else f"stack name {pulumi.get_stack()!r} (bucket {name!r})"
        raise ConfigError(
            f"{path}: {what}: the S3 bucket name '{slug}-{name}-<account id>' would be {length} characters; "
            f"S3 allows {BUCKET_NAME_MAX}. No resource was created."
        )


def _check_gpu_pools_scale_with_karpenter(cfg: StackConfig) -> None:
    """Karpenter adds a GPU pool's nodes beyond minSize; a managed group held above minSize would let the pool grow
    past maxSize, so on AWS a GPU pool's desiredSize must equal its minSize."""
    for i, pool in enumerate(cfg.node_pools):
        if pool.kind == "gpu" and pool.desired != pool.min_size:
            raise ConfigError(
                f"{current_stack_file()}: mlops:nodePools[{i}].desiredSize = {pool.desired}: on AWS "
                f"Karpenter scales GPU pool {pool.name!r} from minSize ({pool.min_size}) up to maxSize "
                f"({pool.max_size}); allowed: {pool.min_size} (equal to minSize), or raise minSize"
            )


def _bucket_name(slug: str, name: str, account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.concat(slug, "-", name, "-", account_id)


def kubeconfig(cluster_name: str, region: str, endpoint: str, ca_data: str) -> str:
    """Kubeconfig that authenticates with ``aws eks get-token`` (short-lived tokens, no stored credentials)."""
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"],
            "interactiveMode": "Never",
        }
    }
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
            ],
            "users": [{"name": cluster_name, "user": user}],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
        }
    )


def build(cfg: StackConfig) -> TargetCluster:
    import pulumi_aws
    import pulumi_kubernetes as k8s

    from components.aws.audit import AuditTrail, AuditTrailArgs
    from components.aws.bucket import AccessLogBucket, AccessLogBucketArgs, SecureBucket
    from components.aws.detection import ThreatDetection, ThreatDetectionArgs
    from components.aws.eks import EksCluster, EksClusterArgs
    from components.aws.karpenter import Karpenter, KarpenterArgs
    from components.aws.kms import KmsKey, KmsKeyArgs
    from components.aws.network import PrivateNetwork, PrivateNetworkArgs
    from components.aws.node_group import ManagedNodeGroup, NodeRole, NodeRoleArgs
    from components.kubernetes.baseline import DEFAULT_TEAM_NAMESPACES, WORKLOAD_NAMESPACES

    if cfg.network is None:  # the schema already requires it for target aws; never build without it
        raise ConfigError(f"{current_stack_file()}: required key mlops:network is missing")
    if cfg.safeguards.public_cluster_endpoint:
        raise ConfigError(
            f"{current_stack_file()}: mlops:safeguards.publicClusterEndpoint = True: the AWS target "
            "keeps the EKS API private (reach it through the VPC, a VPN or a bastion); allowed: false"
        )
    region, tags, slug = cfg.region, dict(cfg.tags), _stack_slug()
    egress = egress_endpoints(cfg)
    _check_bucket_names(slug, cfg)
    _check_gpu_pools_scale_with_karpenter(cfg)
    provider = pulumi_aws.Provider(f"aws-{region}", region=region, default_tags={"tags": tags})
    opts = pulumi.ResourceOptions(providers=[provider])
    account_id = pulumi_aws.get_caller_identity_output(opts=pulumi.InvokeOptions(provider=provider)).account_id
    autoscaling_role = pulumi.Output.concat("arn:aws:iam::", account_id, ":", AUTOSCALING_SERVICE_ROLE)

    platform_key = KmsKey(
        "platform",
        KmsKeyArgs(
            account_id=account_id,
            region=region,
            alias=f"{slug}-platform",
            description=f"{slug}: EKS secrets, node volumes, S3 data, VPC flow logs",
            service_principals=[f"logs.{region}.amazonaws.com"],
            role_arns=[autoscaling_role],
            tags=tags,
        ),
        opts=opts,
    )
    audit_key = KmsKey(
        "audit",
        KmsKeyArgs(
            account_id=account_id,
            region=region,
            alias=f"{slug}-audit",
            description=f"{slug}: CloudTrail audit logs",
            service_principals=["cloudtrail.amazonaws.com", f"logs.{region}.amazonaws.com"],
            tags=tags,
        ),
        opts=opts,
    )

    zones = cfg.network.availability_zones or [
        f"{region}{chr(ord('a') + i)}" for i in range(len(cfg.network.private_subnets))
    ]
    network = PrivateNetwork(
        "network",
        PrivateNetworkArgs(
            region=region,
            cidr=cfg.network.cidr,
            private_subnets=cfg.network.private_subnets,
            availability_zones=zones,
            kms_key_arn=platform_key.arn,
            account_id=account_id,
            cluster_name=slug,
            tags=tags,
        ),
        opts=opts,
    )

    access_logs = AccessLogBucket(
        "access-logs",
        AccessLogBucketArgs(
            bucket_name=_bucket_name(slug, "access-logs", account_id), account_id=account_id, tags=tags
        ),
        opts=opts,
    )
    buckets = {
        b.name: SecureBucket(
            f"bucket-{b.name}",
            secure_bucket_args(
                b,
                bucket_name=_bucket_name(slug, b.name, account_id),
                kms_key_arn=platform_key.arn,
                access_log_bucket=access_logs.name,
                tags=tags,
            ),
            opts=opts,
        )
        for b in cfg.buckets
    }
    trail = AuditTrail(
        "audit",
        AuditTrailArgs(
            trail_name=f"{slug}-audit",
            bucket_name=_bucket_name(slug, "audit-trail", account_id),
            account_id=account_id,
            region=region,
            kms_key_arn=audit_key.arn,
            access_log_bucket=access_logs.name,
            tags=tags,
        ),
        opts=opts,
    )
    # GuardDuty with EKS protection (audit logs, runtime monitoring through its managed EKS add-on):
    # docs/security-detection-and-audit.md, CKV_MLOPS_361.
    detection = ThreatDetection("threat-detection", ThreatDetectionArgs(tags=tags), opts=opts)

    cluster = EksCluster(
        "eks",
        EksClusterArgs(
            cluster_name=slug,
            kubernetes_version=cfg.kubernetes_version,
            region=region,
            account_id=account_id,
            subnet_ids=network.private_subnet_ids,
            kms_key_arn=platform_key.arn,
            service_cidr=cfg.network.service_cidr,
            platform_admin_groups=cfg.identity.platform_admin,
            ml_engineer_groups=cfg.identity.ml_engineer,
            data_scientist_groups=cfg.identity.data_scientist,
            team_namespaces=[*WORKLOAD_NAMESPACES, *DEFAULT_TEAM_NAMESPACES],
            tags=tags,
        ),
        opts=opts,
    )
    node_role = NodeRole("nodes", NodeRoleArgs(account_id=account_id, tags=tags), opts=opts)
    node_groups = [
        ManagedNodeGroup(
            f"pool-{pool.name}",
            node_group_args(
                pool,
                cluster_name=cluster.name,
                kubernetes_version=cfg.kubernetes_version,
                node_role_arn=node_role.arn,
                subnet_ids=network.private_subnet_ids,
                kms_key_arn=platform_key.arn,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(providers=[provider], depends_on=[node_role]),
        )
        for pool in cfg.node_pools
    ]

    system_pool = next(p.name for p in cfg.node_pools if p.role == "system")
    config = pulumi.Output.secret(
        pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority).apply(
            lambda v: kubeconfig(v[0], region, v[1], v[2])
        )
    )
    k8s_provider = k8s.Provider("eks", kubeconfig=config, enable_server_side_apply=True)
    autoscaler = Karpenter(
        "karpenter",
        KarpenterArgs(
            cluster_name=cluster.name,
            region=region,
            account_id=account_id,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer_url=cluster.oidc_issuer_url,
            node_role_arn=node_role.arn,
            node_role_name=node_role.role_name,
            subnet_ids=network.private_subnet_ids,
            kms_key_arn=platform_key.arn,
            gpu_pools=[gpu_node_pool(p) for p in cfg.gpu_pools],
            system_pool=system_pool,
            tags=tags,
        ),
        opts=pulumi.ResourceOptions(providers=[provider, k8s_provider], depends_on=node_groups),
    )
    return TargetCluster(
        egress=egress,
        provider=k8s_provider,
        cluster_name=cluster.name,
        endpoint=cluster.endpoint,
        buckets={name: pulumi.Output.concat("s3://", b.name) for name, b in buckets.items()},
        encryption_key=platform_key.arn,
        network={
            "vpc_id": network.vpc_id,
            "vpc_cidr": cfg.network.cidr,
            "private_subnet_ids": network.private_subnet_ids,
        },
        workload_identity={"oidc_provider_arn": cluster.oidc_provider_arn, "oidc_issuer_url": cluster.oidc_issuer_url},
        dependencies=[*node_groups, autoscaler],
        cloud_provider=provider,
        outputs={
            "kmsKeyArn": platform_key.arn,
            "vpcId": network.vpc_id,
            "oidcProviderArn": cluster.oidc_provider_arn,
            "auditTrailArn": trail.arn,
            "guardDutyDetectorId": detection.detector_id,
            "kubeconfig": config,
        },
    )

"""AWS parts of the platform services: the Feast registry on RDS for PostgreSQL, KFP's metadata on RDS for MySQL,
the online store on ElastiCache for Redis, and IRSA roles that give ServiceAccounts access to named buckets only.

Secure by default (each setting below is an explicit input, visible in the preview and to the policy gate):
- RDS: storage and Performance Insights encrypted with the stack's KMS key; private subnets only, not publicly
  accessible, a security group admitting 5432 from the VPC CIDR only; TLS forced (``rds.force_ssl=1``); IAM
  database authentication on; a generated password held only as a Pulumi secret and a Kubernetes Secret; automated
  backups kept >= 7 days in the region (no cross-region backup replication); Multi-AZ and deletion protection in
  prod; a final snapshot on deletion; enhanced monitoring; minor (security) upgrades automatic within the major
  version pinned in components/versions.py. KFP's MySQL (``AwsPipelineMetadata``) is built by the same helper
  (:func:`private_rds_instance`), on 3306, with ``require_secure_transport=1``.
- ElastiCache: encryption at rest with the KMS key and in transit (TLS required), an AUTH token from a Pulumi
  secret, private subnets, a security group admitting 6379 from the VPC CIDR only, automatic failover and Multi-AZ
  in prod, daily snapshots kept in the region.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from components import versions
from components.aws._iam import assume_role_policy, managed_policy
from components.errors import InputError
from components.services.identity import BucketGrant, IdentityBinding, check_grants

POSTGRES_PORT = 5432
REDIS_PORT = 6379
REGISTRY_DATABASE = "feast"
REGISTRY_USER = "feast"
MYSQL_PORT = 3306
KFP_DB_USER = "kfp"
MIN_BACKUP_RETENTION_DAYS = 7


def bucket_arn(uri: str) -> str:
    """``s3://name[/prefix]`` -> ``arn:aws:s3:::name``."""
    if not uri.startswith("s3://"):
        raise InputError(f"{uri!r} is not an s3:// bucket URI")
    return "arn:aws:s3:::" + uri.removeprefix("s3://").split("/", 1)[0]


def bucket_policy_statements(grants: Sequence[tuple[str, str]], kms_key_arn: str) -> list[dict]:
    """IAM statements for ``(bucket_arn, access)`` pairs: object reads (and puts for ``write``) on those buckets
    only, and the KMS use their SSE-KMS objects need, on the one key. No delete, no bucket configuration."""
    read = sorted({arn for arn, _ in grants})
    write = sorted({arn for arn, access in grants if access == "write"})
    statements = [
        {
            "Sid": "ListBuckets",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": read,
        },
        {
            "Sid": "ReadObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": [f"{arn}/*" for arn in read],
        },
    ]
    key_actions = ["kms:Decrypt", "kms:DescribeKey"]
    if write:
        statements.append(
            {
                "Sid": "WriteObjects",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                "Resource": [f"{arn}/*" for arn in write],
            }
        )
        key_actions = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]
    statements.append({"Sid": "UseBucketKey", "Effect": "Allow", "Action": key_actions, "Resource": kms_key_arn})
    return statements


def irsa_trust_policy(oidc_provider_arn: str, oidc_issuer_url: str, namespace: str, service_account: str) -> str:
    """Only this one ServiceAccount's projected token (audience sts.amazonaws.com) may assume the role."""
    issuer = oidc_issuer_url.removeprefix("https://")
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": oidc_provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                            f"{issuer}:aud": "sts.amazonaws.com",
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


class AwsIdentities:
    """IRSA: one IAM role per ServiceAccount, trusted by that ServiceAccount only, allowed the named buckets only."""

    def __init__(
        self,
        *,
        buckets: Mapping[str, pulumi.Input[str]],
        kms_key_arn: pulumi.Input[str],
        oidc_provider_arn: pulumi.Input[str],
        oidc_issuer_url: pulumi.Input[str],
        region: str,
        name_prefix: str,
        tags: Mapping[str, str],
    ) -> None:
        self.buckets = dict(buckets)
        self.kms_key_arn = kms_key_arn
        self.oidc_provider_arn = oidc_provider_arn
        self.oidc_issuer_url = oidc_issuer_url
        self.region = region
        self.name_prefix = name_prefix
        self.tags = dict(tags)

    def bind(
        self, name: str, *, namespace: str, service_account: str, grants: list[BucketGrant], parent: pulumi.Resource
    ) -> IdentityBinding:
        from pulumi_aws import iam

        check_grants(grants, self.buckets)
        child = pulumi.ResourceOptions(parent=parent)
        trust = pulumi.Output.all(self.oidc_provider_arn, self.oidc_issuer_url).apply(
            lambda v: irsa_trust_policy(v[0], v[1], namespace, service_account)
        )
        role = iam.Role(
            f"{name}-irsa",
            name=f"{self.name_prefix}-{name}"[:64],
            assume_role_policy=trust,
            max_session_duration=3600,
            tags=self.tags,
            opts=child,
        )
        accesses = [g.access for g in grants]
        policy = pulumi.Output.all(self.kms_key_arn, *[self.buckets[g.bucket] for g in grants]).apply(
            lambda v: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": bucket_policy_statements(
                        [(bucket_arn(uri), access) for uri, access in zip(v[1:], accesses, strict=True)], v[0]
                    ),
                },
                sort_keys=True,
            )
        )
        iam.RolePolicy(f"{name}-irsa", role=role.id, name="buckets", policy=policy, opts=child)
        return IdentityBinding(
            service_account_annotations={"eks.amazonaws.com/role-arn": role.arn},
            env=[{"name": "AWS_REGION", "value": self.region}, {"name": "AWS_DEFAULT_REGION", "value": self.region}],
            identity=role.arn,
        )


@dataclass
class AwsDatabaseArgs:
    """Where and how a private, encrypted RDS instance of the platform runs (shared by Feast and KFP)."""

    name_prefix: str
    """Stack slug; names the DB instances and the replication group (``<prefix>-feast-...``, ``<prefix>-kfp-...``)."""
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    """The only source admitted to the database (and Redis) ports."""
    private_subnet_ids: pulumi.Input[Sequence[str]]
    kms_key_arn: pulumi.Input[str]
    """Customer-managed key for RDS storage, Performance Insights (and ElastiCache at rest)."""
    production: bool
    """Prod stacks get Multi-AZ and deletion protection (each overridable below)."""
    db_instance_class: str = "db.r6g.large"
    db_allocated_storage_gb: int = 50
    db_max_allocated_storage_gb: int = 500
    backup_retention_days: int = 14
    """Automated backups, kept in the region (>= 7)."""
    multi_az: bool | None = None
    """None: on in prod."""
    deletion_protection: bool | None = None
    """None: on in prod."""
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.backup_retention_days < MIN_BACKUP_RETENTION_DAYS:
            raise InputError(f"backup_retention_days must be at least {MIN_BACKUP_RETENTION_DAYS}")

    @property
    def multi_az_on(self) -> bool:
        return self.production if self.multi_az is None else self.multi_az

    @property
    def deletion_protection_on(self) -> bool:
        return self.production if self.deletion_protection is None else self.deletion_protection


@dataclass
class AwsFeatureDataArgs(AwsDatabaseArgs):
    redis_node_type: str = "cache.r6g.large"
    redis_replicas: int | None = None
    """Cache clusters in the group; None: 2 in prod (primary + replica for failover), else 1."""
    redis_snapshot_retention_days: int = 7

    @property
    def cache_clusters(self) -> int:
        return self.redis_replicas or (2 if self.production else 1)


@dataclass(frozen=True)
class RdsEngine:
    """What differs between the platform's RDS databases: engine, TLS-forcing parameters, logs, names."""

    engine: str
    version: str
    family: str
    port: int
    parameters: Sequence[Mapping[str, str]]
    """Parameter group settings; they must force TLS (``rds.force_ssl`` / ``require_secure_transport``)."""
    parameters_description: str
    log_exports: Sequence[str]
    database: str | None
    username: str
    purpose: str
    """Human description, in security group and parameter group descriptions."""


POSTGRES_REGISTRY = RdsEngine(
    engine="postgres",
    version=versions.RDS_POSTGRES_ENGINE,
    family=versions.RDS_POSTGRES_FAMILY,
    port=POSTGRES_PORT,
    parameters=[
        {"name": "rds.force_ssl", "value": "1"},
        {"name": "password_encryption", "value": "scram-sha-256"},
        {"name": "log_connections", "value": "1"},
        {"name": "log_disconnections", "value": "1"},
    ],
    parameters_description="Feast registry: TLS only, SCRAM passwords, connection logging",
    log_exports=["postgresql", "upgrade"],
    database=REGISTRY_DATABASE,
    username=REGISTRY_USER,
    purpose="Feast registry PostgreSQL",
)
MYSQL_PIPELINE_METADATA = RdsEngine(
    engine="mysql",
    version=versions.RDS_MYSQL_ENGINE,
    family=versions.RDS_MYSQL_FAMILY,
    port=MYSQL_PORT,
    parameters=[{"name": "require_secure_transport", "value": "1"}],  # RDS spells MySQL booleans 1/0
    parameters_description="KFP metadata: TLS only",
    log_exports=["error", "general", "slowquery"],
    database=None,  # KFP's API server, cache server and ML Metadata create their own databases
    username=KFP_DB_USER,
    purpose="KFP metadata MySQL",
)


def vpc_only_group(
    resource_name: str, cloud_name: str, port: int, what: str, args: AwsDatabaseArgs, parent: pulumi.Resource
):
    """A security group admitting ``port`` from the VPC CIDR only, and nothing out."""
    from pulumi_aws import ec2

    return ec2.SecurityGroup(
        resource_name,
        name=cloud_name,
        description=f"{what}: port {port} from inside the VPC only",
        vpc_id=args.vpc_id,
        ingress=[
            {
                "protocol": "tcp",
                "from_port": port,
                "to_port": port,
                "cidr_blocks": [args.vpc_cidr],
                "description": f"{what} clients in the VPC",
            }
        ],
        egress=[],
        tags=dict(args.tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def private_rds_instance(
    resource_name: str,
    stem: str,
    engine: RdsEngine,
    args: AwsDatabaseArgs,
    password: pulumi.Input[str],
    parent: pulumi.Resource,
):
    """A private, KMS-encrypted, TLS-only RDS instance with in-region backups and enhanced monitoring.

    ``resource_name`` names its Pulumi resources, ``stem`` its cloud names: security group, subnet group, parameter
    group, monitoring role, instance.
    """
    from pulumi_aws import iam, rds

    child = pulumi.ResourceOptions(parent=parent)
    tags = dict(args.tags)
    db_sg = vpc_only_group(resource_name, stem, engine.port, engine.purpose, args, parent)
    subnet_group = rds.SubnetGroup(resource_name, name=stem, subnet_ids=args.private_subnet_ids, tags=tags, opts=child)
    params = rds.ParameterGroup(
        resource_name,
        name=stem,
        family=engine.family,
        description=engine.parameters_description,
        parameters=[dict(p) for p in engine.parameters],
        tags=tags,
        opts=child,
    )
    monitoring = iam.Role(
        f"{resource_name}-monitoring",
        name=f"{stem}-monitoring"[:64],
        assume_role_policy=assume_role_policy("monitoring.rds.amazonaws.com"),
        tags=tags,
        opts=child,
    )
    monitoring_policy = iam.RolePolicyAttachment(
        f"{resource_name}-monitoring",
        role=monitoring.name,
        policy_arn=managed_policy("service-role/AmazonRDSEnhancedMonitoringRole"),
        opts=child,
    )
    return rds.Instance(
        resource_name,
        identifier=stem,
        engine=engine.engine,
        engine_version=engine.version,
        auto_minor_version_upgrade=True,  # security patches; the major version is the pin
        instance_class=args.db_instance_class,
        allocated_storage=args.db_allocated_storage_gb,
        max_allocated_storage=args.db_max_allocated_storage_gb,
        storage_type="gp3",
        storage_encrypted=True,
        kms_key_id=args.kms_key_arn,
        db_name=engine.database,
        username=engine.username,
        password=pulumi.Output.secret(password),
        iam_database_authentication_enabled=True,
        publicly_accessible=False,
        db_subnet_group_name=subnet_group.name,
        vpc_security_group_ids=[db_sg.id],
        parameter_group_name=params.name,
        ca_cert_identifier="rds-ca-rsa2048-g1",
        multi_az=args.multi_az_on,
        deletion_protection=args.deletion_protection_on,
        backup_retention_period=args.backup_retention_days,
        backup_target="region",
        delete_automated_backups=False,
        copy_tags_to_snapshot=True,
        skip_final_snapshot=False,
        final_snapshot_identifier=f"{stem}-final",
        performance_insights_enabled=True,
        performance_insights_kms_key_id=args.kms_key_arn,
        performance_insights_retention_period=7,
        enabled_cloudwatch_logs_exports=list(engine.log_exports),
        monitoring_interval=60,
        monitoring_role_arn=monitoring.arn,
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[monitoring_policy]),
    )


class AwsFeatureData(pulumi.ComponentResource):
    """RDS PostgreSQL (Feast registry, KFP-independent) and an ElastiCache Redis replication group (online store)."""

    registry_host: pulumi.Output[str]
    registry_password: pulumi.Output[str]
    redis_host: pulumi.Output[str]
    redis_password: pulumi.Output[str]

    def __init__(self, name: str, args: AwsFeatureDataArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:services:AwsFeatureData", name, None, opts)
        from pulumi_aws import elasticache
        from pulumi_random import RandomPassword

        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        db_password = RandomPassword(f"{name}-registry-password", length=40, special=False, opts=child)
        redis_token = RandomPassword(f"{name}-redis-auth-token", length=64, special=False, opts=child)
        db = private_rds_instance(
            f"{name}-registry", f"{args.name_prefix}-feast-registry", POSTGRES_REGISTRY, args, db_password.result, self
        )

        redis_sg = vpc_only_group(
            f"{name}-online", f"{args.name_prefix}-feast-online", REDIS_PORT, "Feast online store Redis", args, self
        )
        cache_subnets = elasticache.SubnetGroup(
            f"{name}-online",
            name=f"{args.name_prefix}-feast-online",
            subnet_ids=args.private_subnet_ids,
            tags=tags,
            opts=child,
        )
        failover = args.cache_clusters > 1
        redis = elasticache.ReplicationGroup(
            f"{name}-online",
            replication_group_id=f"{args.name_prefix}-feast-online"[:40],
            description="Feast online store",
            engine="redis",
            engine_version=versions.ELASTICACHE_REDIS_ENGINE,
            node_type=args.redis_node_type,
            port=REDIS_PORT,
            num_cache_clusters=args.cache_clusters,
            automatic_failover_enabled=failover,
            multi_az_enabled=failover,
            at_rest_encryption_enabled=True,
            kms_key_id=args.kms_key_arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=pulumi.Output.secret(redis_token.result),
            subnet_group_name=cache_subnets.name,
            security_group_ids=[redis_sg.id],
            snapshot_retention_limit=args.redis_snapshot_retention_days,
            auto_minor_version_upgrade=True,
            apply_immediately=False,
            tags=tags,
            opts=child,
        )
        self.registry_host = db.address
        self.registry_password = pulumi.Output.secret(db_password.result)
        self.redis_host = redis.primary_endpoint_address
        self.redis_password = pulumi.Output.secret(redis_token.result)
        self.register_outputs({"registryHost": self.registry_host, "redisHost": self.redis_host})


class AwsPipelineMetadata(pulumi.ComponentResource):
    """RDS for MySQL holding Kubeflow Pipelines' metadata (pipeline DB, cache DB, ML Metadata): KFP 2.5 speaks MySQL
    only, so it cannot share the Feast PostgreSQL instance. Same safeguards as the registry
    (:func:`private_rds_instance`), TLS forced by ``require_secure_transport=1``."""

    host: pulumi.Output[str]
    username: pulumi.Output[str]
    password: pulumi.Output[str]

    def __init__(self, name: str, args: AwsDatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:services:AwsPipelineMetadata", name, None, opts)
        from pulumi_random import RandomPassword

        password = RandomPassword(
            f"{name}-password", length=40, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        db = private_rds_instance(
            name, f"{args.name_prefix}-kfp-metadata", MYSQL_PIPELINE_METADATA, args, password.result, self
        )
        self.host = db.address
        self.username = pulumi.Output.secret(KFP_DB_USER)
        self.password = pulumi.Output.secret(password.result)
        self.register_outputs({"host": self.host})

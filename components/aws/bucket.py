"""S3 buckets: a KMS-encrypted, versioned, private, TLS-only data bucket, and the access-log bucket it logs to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi

from components.aws._iam import policy
from components.errors import InputError


def tls_only_statement(bucket_arn: str) -> dict[str, Any]:
    """Deny every request that does not use TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def _private_bucket(name: str, bucket: Any, *, versioned: bool, parent: pulumi.Resource) -> tuple[Any, Any]:
    """Settings every bucket here gets: public access blocked, owner-enforced ownership, versioning."""
    from pulumi_aws import s3

    child = pulumi.ResourceOptions(parent=parent)
    block = s3.BucketPublicAccessBlock(
        name,
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    ownership = s3.BucketOwnershipControls(
        name, bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child
    )
    if versioned:
        s3.BucketVersioning(name, bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=child)
    return block, ownership


@dataclass
class AccessLogBucketArgs:
    bucket_name: pulumi.Input[str]
    account_id: pulumi.Input[str]
    """Only this account's buckets may deliver access logs here."""
    log_retention_days: int = 400
    tags: Mapping[str, str] = field(default_factory=dict)


class AccessLogBucket(pulumi.ComponentResource):
    """Target of S3 server access logging.

    Encrypted with SSE-S3 (AES-256), not a KMS key: S3 server access log delivery does not support SSE-KMS
    default encryption on the target bucket. Otherwise as locked down as the data buckets.
    """

    bucket: Any
    name: pulumi.Output[str]

    def __init__(self, name: str, args: AccessLogBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:AccessLogBucket", name, None, opts)
        from pulumi_aws import s3

        child = pulumi.ResourceOptions(parent=self)
        self.bucket = s3.Bucket(name, bucket=args.bucket_name, tags=dict(args.tags), opts=child)
        self.name = self.bucket.bucket
        block, ownership = _private_bucket(name, self.bucket, versioned=True, parent=self)
        s3.BucketServerSideEncryptionConfiguration(
            name,
            bucket=self.bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        s3.BucketLifecycleConfiguration(
            name,
            bucket=self.bucket.id,
            rules=[
                {
                    "id": "expire-access-logs",
                    "status": "Enabled",
                    "filter": {},
                    "expiration": {"days": args.log_retention_days},
                    "noncurrent_version_expiration": {"noncurrent_days": 30},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            opts=child,
        )
        s3.BucketPolicy(
            name,
            bucket=self.bucket.id,
            policy=pulumi.Output.all(self.bucket.arn, args.account_id).apply(
                lambda v: policy(
                    [
                        tls_only_statement(v[0]),
                        {
                            "Sid": "S3ServerAccessLogDelivery",
                            "Effect": "Allow",
                            "Principal": {"Service": "logging.s3.amazonaws.com"},
                            "Action": "s3:PutObject",
                            "Resource": f"{v[0]}/*",
                            "Condition": {"StringEquals": {"aws:SourceAccount": v[1]}},
                        },
                    ]
                )
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[block, ownership]),
        )
        self.register_outputs({"name": self.name, "arn": self.bucket.arn})


@dataclass
class SecureBucketArgs:
    bucket_name: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    """Customer-managed key for default encryption (SSE-KMS with an S3 bucket key)."""
    access_log_bucket: pulumi.Input[str]
    """Name of the bucket that receives this bucket's server access logs."""
    versioning: bool = True
    """Turning versioning off is a visible decision in the stack file (``buckets[].versioning: false``)."""
    expire_noncurrent_after_days: int = 90
    transition_to_infrequent_after_days: int | None = 30
    """Move current objects to STANDARD_IA after this many days; None keeps them in STANDARD."""
    object_lock_days: int | None = None
    """WORM default retention in days; the bucket is created with object lock (it cannot be added later)."""
    expire_after_days: int | None = None
    """Delete current objects this many days after creation (personal data: storage limitation); None keeps them."""
    object_lock_mode: Literal["COMPLIANCE", "GOVERNANCE"] = "COMPLIANCE"
    extra_policy_statements: pulumi.Input[Sequence[dict[str, Any]]] = ()
    """Statements added to the bucket policy next to the TLS-only deny (e.g. a service's write grant)."""
    tags: Mapping[str, str] = field(default_factory=dict)


class SecureBucket(pulumi.ComponentResource):
    """Private bucket: SSE-KMS with a bucket key, versioning, all public access blocked, TLS-only policy,
    access logging, lifecycle rules, owner-enforced object ownership and optional object lock."""

    bucket: Any
    name: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: SecureBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:SecureBucket", name, None, opts)
        if args.object_lock_days and not args.versioning:
            raise InputError(f"bucket {name}: object lock (objectLockDays) needs versioning on")
        from pulumi_aws import s3

        child = pulumi.ResourceOptions(parent=self)
        self.bucket = s3.Bucket(
            name,
            bucket=args.bucket_name,
            object_lock_enabled=bool(args.object_lock_days),
            tags=dict(args.tags),
            opts=child,
        )
        self.name = self.bucket.bucket
        self.arn = self.bucket.arn
        block, ownership = _private_bucket(name, self.bucket, versioned=args.versioning, parent=self)
        s3.BucketServerSideEncryptionConfiguration(
            name,
            bucket=self.bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": args.kms_key_arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=child,
        )
        s3.BucketLogging(
            name,
            bucket=self.bucket.id,
            target_bucket=args.access_log_bucket,
            target_prefix=pulumi.Output.concat(self.bucket.bucket, "/"),
            opts=child,
        )
        s3.BucketLifecycleConfiguration(name, bucket=self.bucket.id, rules=self._lifecycle_rules(args), opts=child)
        if args.object_lock_days:
            s3.BucketObjectLockConfiguration(
                name,
                bucket=self.bucket.id,
                object_lock_enabled="Enabled",
                rule={"default_retention": {"mode": args.object_lock_mode, "days": args.object_lock_days}},
                opts=child,
            )
        statements = pulumi.Output.all(self.bucket.arn, args.extra_policy_statements).apply(
            lambda v: policy([tls_only_statement(v[0]), *v[1]])
        )
        s3.BucketPolicy(
            name,
            bucket=self.bucket.id,
            policy=statements,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[block, ownership]),
        )
        self.register_outputs({"name": self.name, "arn": self.arn})

    @staticmethod
    def _lifecycle_rules(args: SecureBucketArgs) -> list[dict[str, Any]]:
        rule: dict[str, Any] = {
            "id": "default",
            "status": "Enabled",
            "filter": {},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
        }
        if args.versioning:
            rule["noncurrent_version_expiration"] = {"noncurrent_days": args.expire_noncurrent_after_days}
        if args.expire_after_days:
            rule["expiration"] = {"days": args.expire_after_days}
        if args.transition_to_infrequent_after_days:
            rule["transitions"] = [{"days": args.transition_to_infrequent_after_days, "storage_class": "STANDARD_IA"}]
        return [rule]

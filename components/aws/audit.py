"""Account audit trail: a multi-region CloudTrail with log-file validation into its own locked-down bucket."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.aws._iam import assume_role_policy, policy
from components.aws.bucket import SecureBucket, SecureBucketArgs


@dataclass
class AuditTrailArgs:
    trail_name: str
    """Fixed trail name: the bucket and key policies are scoped to this trail's ARN."""
    bucket_name: pulumi.Input[str]
    account_id: pulumi.Input[str]
    region: str
    kms_key_arn: pulumi.Input[str]
    """Key that encrypts the trail's log files, its bucket and its CloudWatch log group."""
    access_log_bucket: pulumi.Input[str]
    retention_days: int = 2555
    """Object-lock retention of the trail's log files (default seven years)."""
    cloudwatch_logs: bool = True
    """Also deliver events to an encrypted CloudWatch log group, for metric filters and alarms."""
    cloudwatch_retention_days: int = 365
    tags: Mapping[str, str] = field(default_factory=dict)


class AuditTrail(pulumi.ComponentResource):
    """CloudTrail for every region, KMS-encrypted, validated, written to a WORM bucket only CloudTrail can write."""

    trail: Any
    arn: pulumi.Output[str]
    bucket: SecureBucket

    def __init__(self, name: str, args: AuditTrailArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:AuditTrail", name, None, opts)
        from pulumi_aws import cloudtrail, cloudwatch, iam

        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        trail_arn = pulumi.Output.concat(
            "arn:aws:cloudtrail:", args.region, ":", args.account_id, ":trail/", args.trail_name
        )
        statements = pulumi.Output.all(args.bucket_name, args.account_id, trail_arn).apply(
            lambda v: _cloudtrail_bucket_statements(*v)
        )
        self.bucket = SecureBucket(
            f"{name}-logs",
            SecureBucketArgs(
                bucket_name=args.bucket_name,
                kms_key_arn=args.kms_key_arn,
                access_log_bucket=args.access_log_bucket,
                expire_noncurrent_after_days=args.retention_days,
                transition_to_infrequent_after_days=90,
                object_lock_days=args.retention_days,
                extra_policy_statements=statements,
                tags={**tags, "purpose": "audit"},
            ),
            opts=child,
        )

        cloudwatch_args: dict[str, Any] = {}
        if args.cloudwatch_logs:
            group = cloudwatch.LogGroup(
                name,
                name=f"/mlops/cloudtrail/{args.trail_name}",
                retention_in_days=args.cloudwatch_retention_days,
                kms_key_id=args.kms_key_arn,
                tags=tags,
                opts=child,
            )
            role = iam.Role(
                f"{name}-cloudwatch",
                assume_role_policy=assume_role_policy("cloudtrail.amazonaws.com", args.account_id),
                tags=tags,
                opts=child,
            )
            iam.RolePolicy(
                f"{name}-cloudwatch",
                role=role.id,
                policy=group.arn.apply(
                    lambda arn: policy(
                        [
                            {
                                "Effect": "Allow",
                                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                "Resource": f"{arn}:log-stream:*",
                            }
                        ]
                    )
                ),
                opts=child,
            )
            cloudwatch_args = {
                "cloud_watch_logs_group_arn": group.arn.apply(lambda arn: f"{arn}:*"),
                "cloud_watch_logs_role_arn": role.arn,
            }
        self.trail = cloudtrail.Trail(
            name,
            name=args.trail_name,
            s3_bucket_name=self.bucket.name,
            kms_key_id=args.kms_key_arn,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            enable_logging=True,
            tags=tags,
            **cloudwatch_args,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.bucket]),
        )
        self.arn = self.trail.arn
        self.register_outputs({"arn": self.arn, "bucket": self.bucket.name})


def _cloudtrail_bucket_statements(bucket: str, account: str, trail_arn: str) -> list[dict[str, Any]]:
    """What CloudTrail needs on its bucket, for this trail only."""
    arn = f"arn:aws:s3:::{bucket}"
    scoped = {"StringEquals": {"aws:SourceArn": trail_arn}}
    return [
        {
            "Sid": "CloudTrailAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:GetBucketAcl",
            "Resource": arn,
            "Condition": scoped,
        },
        {
            "Sid": "CloudTrailWrite",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{arn}/AWSLogs/{account}/*",
            "Condition": {"StringEquals": {"aws:SourceArn": trail_arn, "s3:x-amz-acl": "bucket-owner-full-control"}},
        },
    ]

"""A customer-managed KMS key: automatic rotation, a restrictive key policy, an alias."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.aws._iam import account_root, policy

KEY_USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]


@dataclass
class KmsKeyArgs:
    account_id: pulumi.Input[str]
    """AWS account that owns the key; its root principal administers it (so IAM policies can grant use)."""
    region: str
    """Region of the key; scopes the CloudWatch Logs encryption-context condition."""
    description: str
    alias: str
    """Alias name without the ``alias/`` prefix."""
    service_principals: Sequence[str] = ()
    """AWS service principals allowed to use the key for this account only, e.g. ``cloudtrail.amazonaws.com``."""
    role_arns: Sequence[pulumi.Input[str]] = ()
    """IAM roles (service-linked roles such as the Auto Scaling one for encrypted EBS) allowed to use the key."""
    deletion_window_in_days: int = 30
    rotation_period_in_days: int = 365
    tags: Mapping[str, str] = field(default_factory=dict)


def _service_statement(service: str, account: str, region: str) -> dict[str, Any]:
    """One service's use of the key, limited to this account's resources by the strongest condition it supports."""
    if service.startswith("logs."):
        condition = {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account}:log-group:*"}}
        actions = KEY_USE_ACTIONS
    elif service == "cloudtrail.amazonaws.com":
        condition = {
            "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{account}:trail/*"}
        }
        actions = ["kms:GenerateDataKey*", "kms:Decrypt"]
    else:
        condition = {"StringEquals": {"aws:SourceAccount": account}}
        actions = KEY_USE_ACTIONS
    sid = "Service" + "".join(part.capitalize() for part in service.split(".")[0].split("-"))
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": actions,
        "Resource": "*",
        "Condition": condition,
    }


def key_policy(account: str, region: str, services: Sequence[str], roles: Sequence[str]) -> str:
    """Account root administers the key; only the named services and roles may use it, nobody else."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountRootAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": account_root(account)},
            "Action": "kms:*",
            "Resource": "*",
        },
    ]
    statements += [_service_statement(s, account, region) for s in services]
    if services:
        statements.append(
            {
                "Sid": "ServicesDescribeKey",
                "Effect": "Allow",
                "Principal": {"Service": sorted(services)},
                "Action": "kms:DescribeKey",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            }
        )
    if roles:
        statements.append(
            {
                "Sid": "RolesUseKey",
                "Effect": "Allow",
                "Principal": {"AWS": sorted(roles)},
                "Action": KEY_USE_ACTIONS,
                "Resource": "*",
            }
        )
        statements.append(
            {
                "Sid": "RolesGrantForAwsResources",
                "Effect": "Allow",
                "Principal": {"AWS": sorted(roles)},
                "Action": "kms:CreateGrant",
                "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            }
        )
    return policy(statements)


class KmsKey(pulumi.ComponentResource):
    """Symmetric customer-managed key with yearly rotation and a key policy that names every user."""

    key: Any
    arn: pulumi.Output[str]
    key_id: pulumi.Output[str]

    def __init__(self, name: str, args: KmsKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:KmsKey", name, None, opts)
        from pulumi_aws import kms

        child = pulumi.ResourceOptions(parent=self)
        policy_json = pulumi.Output.all(args.account_id, *args.role_arns).apply(
            lambda values: key_policy(values[0], args.region, list(args.service_principals), list(values[1:]))
        )
        self.key = kms.Key(
            name,
            description=args.description,
            enable_key_rotation=True,
            rotation_period_in_days=args.rotation_period_in_days,
            deletion_window_in_days=args.deletion_window_in_days,
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            policy=policy_json,
            tags=dict(args.tags),
            opts=child,
        )
        kms.Alias(name, name=f"alias/{args.alias}", target_key_id=self.key.key_id, opts=child)
        self.arn = self.key.arn
        self.key_id = self.key.key_id
        self.register_outputs({"arn": self.arn, "keyId": self.key_id})

"""Small IAM policy builders shared by the AWS components (plain JSON, no provider invokes)."""

from __future__ import annotations

import json
from typing import Any

import pulumi

PARTITION = "aws"


def account_root(account_id: str) -> str:
    return f"arn:{PARTITION}:iam::{account_id}:root"


def managed_policy(name: str) -> str:
    """ARN of an AWS-managed IAM policy."""
    return f"arn:{PARTITION}:iam::aws:policy/{name}"


def policy(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def assume_role_policy(service: str, account_id: pulumi.Input[str] | None = None) -> pulumi.Output[str]:
    """Trust policy for one AWS service; with ``account_id``, only on behalf of this account (confused deputy)."""

    def build(account: str | None) -> str:
        statement: dict[str, Any] = {
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
        }
        if account:
            statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account}}
        return policy([statement])

    return pulumi.Output.from_input(account_id).apply(build)

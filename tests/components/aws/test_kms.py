"""KMS keys: rotation on, and a key policy that names every principal (no wildcard users)."""

from __future__ import annotations

import json

from components.aws.kms import key_policy
from tests.components.aws.stack import policy_doc
from tests.conftest import of_type

ACCOUNT = "123456789012"


def test_every_key_rotates_yearly(aws):
    keys = of_type(aws, "aws:kms/key:Key")
    assert {k.name for k in keys} == {"platform", "audit"}
    for key in keys:
        assert key.inputs["enableKeyRotation"] is True
        assert key.inputs["rotationPeriodInDays"] == 365
        assert key.inputs["deletionWindowInDays"] >= 7


def test_every_key_has_an_alias(aws):
    aliases = {a.inputs["name"] for a in of_type(aws, "aws:kms/alias:Alias")}
    assert aliases == {"alias/aws-uae-prod-platform", "alias/aws-uae-prod-audit"}


def test_key_policies_name_every_principal(aws):
    for key in of_type(aws, "aws:kms/key:Key"):
        statements = policy_doc(key)["Statement"]
        admins = [s for s in statements if s["Action"] == "kms:*"]
        assert admins == [statements[0]]
        assert admins[0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
        for statement in statements:
            assert statement["Effect"] == "Allow"
            assert statement["Principal"] != "*" and "*" not in json.dumps(statement["Principal"])
            if "Service" in statement["Principal"]:
                assert statement.get("Condition"), f"service statement {statement['Sid']} is not scoped to the account"


def test_audit_key_lets_cloudtrail_encrypt_only_this_accounts_trails(aws):
    audit = next(k for k in of_type(aws, "aws:kms/key:Key") if k.name == "audit")
    trail = next(s for s in policy_doc(audit)["Statement"] if s["Principal"] == {"Service": "cloudtrail.amazonaws.com"})
    assert (
        trail["Condition"]["StringLike"]["kms:EncryptionContext:aws:cloudtrail:arn"]
        == f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"
    )


def test_platform_key_lets_autoscaling_encrypt_node_volumes_but_only_grant_for_aws_resources(aws):
    platform = next(k for k in of_type(aws, "aws:kms/key:Key") if k.name == "platform")
    statements = {s["Sid"]: s for s in policy_doc(platform)["Statement"]}
    role = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    assert statements["RolesUseKey"]["Principal"] == {"AWS": [role]}
    assert statements["RolesGrantForAwsResources"]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_a_key_policy_without_services_or_roles_is_root_only():
    statements = json.loads(key_policy(ACCOUNT, "me-central-1", [], []))["Statement"]
    assert [s["Sid"] for s in statements] == ["AccountRootAdministers"]

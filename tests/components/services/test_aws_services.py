"""AWS services under mocks: the Feast registry on RDS and the online store on ElastiCache are encrypted with the
stack's KMS key, private, TLS-only and backed up in-region; IRSA roles reach the named buckets only."""

from __future__ import annotations

import json

import pytest

from components.services.aws import bucket_policy_statements, irsa_trust_policy
from tests.components.services.conftest import ServicesPreview, preview_services

RDS = "aws:rds/instance:Instance"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
VPC_CIDR = "10.40.0.0/16"


def kms_key(preview: ServicesPreview) -> str:
    return preview.result.outputs["kmsKeyArn"]


def test_registry_database_is_encrypted_private_and_tls_only(aws: ServicesPreview) -> None:
    db = aws.one(RDS, "feast-data-registry").inputs
    assert db["storageEncrypted"] is True and db["kmsKeyId"] == kms_key(aws)
    assert db["performanceInsightsEnabled"] is True and db["performanceInsightsKmsKeyId"] == kms_key(aws)
    assert db["publiclyAccessible"] is False
    assert db["iamDatabaseAuthenticationEnabled"] is True
    params = aws.one("aws:rds/parameterGroup:ParameterGroup", "feast-data-registry").inputs
    assert {"name": "rds.force_ssl", "value": "1"} in params["parameters"]
    assert db["parameterGroupName"] == params["name"]
    subnets = aws.one("aws:rds/subnetGroup:SubnetGroup", "feast-data-registry").inputs["subnetIds"]
    assert len(subnets) == 3 and all(s.startswith("subnet-") for s in subnets)  # the three private subnets


@pytest.mark.parametrize(("group", "port"), [("feast-data-registry", 5432), ("feast-data-online", 6379)])
def test_security_groups_admit_the_vpc_only_on_the_service_port(aws: ServicesPreview, group: str, port: int) -> None:
    sg = aws.one("aws:ec2/securityGroup:SecurityGroup", group).inputs
    assert sg["ingress"] == [
        {
            "protocol": "tcp",
            "fromPort": port,
            "toPort": port,
            "cidrBlocks": [VPC_CIDR],
            "description": sg["ingress"][0]["description"],
        }
    ]
    assert sg["egress"] == []


def test_registry_backups_stay_in_region_and_prod_is_protected(aws: ServicesPreview) -> None:
    db = aws.one(RDS, "feast-data-registry").inputs
    assert db["backupRetentionPeriod"] >= 7
    assert db["backupTarget"] == "region"
    assert db["multiAz"] is True and db["deletionProtection"] is True
    assert db["skipFinalSnapshot"] is False
    # No cross-region copy of backups or snapshots anywhere in the stack.
    assert not aws.of_type("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication")


def test_online_store_is_encrypted_authenticated_and_highly_available(aws: ServicesPreview) -> None:
    redis = aws.one(REDIS, "feast-data-online").inputs
    assert redis["atRestEncryptionEnabled"] is True and redis["kmsKeyId"] == kms_key(aws)
    assert redis["transitEncryptionEnabled"] is True and redis["transitEncryptionMode"] == "required"
    assert redis["authToken"] == "[secret]"
    assert redis["automaticFailoverEnabled"] is True and redis["multiAzEnabled"] is True
    assert redis["numCacheClusters"] == 2


def test_dev_stack_drops_only_the_prod_extras() -> None:
    dev = preview_services("aws-uae-prod", {"environment": "dev"})
    db = dev.one(RDS, "feast-data-registry").inputs
    redis = dev.one(REDIS, "feast-data-online").inputs
    assert db["multiAz"] is False and db["deletionProtection"] is False
    assert redis["automaticFailoverEnabled"] is False and redis["numCacheClusters"] == 1
    assert db["storageEncrypted"] is True and redis["transitEncryptionEnabled"] is True


def _role_policy(aws: ServicesPreview, name: str) -> list[dict]:
    return json.loads(aws.one("aws:iam/rolePolicy:RolePolicy", f"{name}-irsa").inputs["policy"])["Statement"]


def _resources(statements: list[dict], sid: str) -> list[str]:
    return next(s["Resource"] for s in statements if s["Sid"] == sid)


def test_feature_server_role_reads_the_features_bucket_only(aws: ServicesPreview) -> None:
    statements = _role_policy(aws, "feast-feature-server")
    assert _resources(statements, "ListBuckets") == ["arn:aws:s3:::aws-uae-prod-features-123456789012"]
    assert _resources(statements, "ReadObjects") == ["arn:aws:s3:::aws-uae-prod-features-123456789012/*"]
    assert not [s for s in statements if s["Sid"] == "WriteObjects"]
    key = next(s for s in statements if s["Sid"] == "UseBucketKey")
    assert key["Action"] == ["kms:Decrypt", "kms:DescribeKey"] and key["Resource"] == kms_key(aws)
    actions = {a for s in statements for a in s["Action"]}
    assert not any(a.endswith("*") or "Delete" in a for a in actions)


def test_pipeline_runner_reads_features_and_writes_models_and_its_artifacts(aws: ServicesPreview) -> None:
    statements = _role_policy(aws, "kfp-pipeline-runner")
    assert _resources(statements, "WriteObjects") == [
        "arn:aws:s3:::aws-uae-prod-models-123456789012/*",
        "arn:aws:s3:::aws-uae-prod-pipeline-artifacts-123456789012/*",
    ]
    assert "arn:aws:s3:::aws-uae-prod-features-123456789012/*" in _resources(statements, "ReadObjects")
    assert not any(
        "datasets" in r
        for s in statements
        for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    )


def test_irsa_trust_is_one_service_account_with_the_sts_audience(aws: ServicesPreview) -> None:
    role = aws.one("aws:iam/role:Role", "feast-feature-server-irsa").inputs
    condition = json.loads(role["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    subjects = [v for k, v in condition.items() if k.endswith(":sub")]
    assert subjects == ["system:serviceaccount:feature-store:feast-feature-server"]
    assert [v for k, v in condition.items() if k.endswith(":aud")] == ["sts.amazonaws.com"]
    account = aws.one("kubernetes:core/v1:ServiceAccount", "services-feast-server-sa").inputs
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(
        "aws-uae-prod-feast-feature-server"
    )


def test_policy_builders_are_pure_json() -> None:
    trust = json.loads(irsa_trust_policy("arn:oidc", "https://oidc.example/id/X", "ns", "sa"))
    assert trust["Statement"][0]["Condition"]["StringEquals"]["oidc.example/id/X:sub"] == "system:serviceaccount:ns:sa"
    statements = bucket_policy_statements([("arn:aws:s3:::b", "read")], "arn:key")
    assert [s["Sid"] for s in statements] == ["ListBuckets", "ReadObjects", "UseBucketKey"]

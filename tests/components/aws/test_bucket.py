"""S3: KMS CMK + bucket key, versioning, public access blocked, TLS only, access logs, lifecycle, object lock."""

from __future__ import annotations

import pytest

from components.aws.bucket import SecureBucket, SecureBucketArgs
from tests.components.aws.stack import child_of, policy_doc
from tests.conftest import of_type, run_mocked

DATA_BUCKETS = {"datasets", "features", "models", "pipeline-artifacts"}


def _buckets(aws):
    """Bucket resource by the config name (or role) of its component."""
    return {b.name.removeprefix("bucket-"): b for b in of_type(aws, "aws:s3/bucket:Bucket")}


def test_stack_buckets_plus_access_log_and_audit_buckets(aws):
    assert set(_buckets(aws)) == DATA_BUCKETS | {"access-logs", "audit-logs"}
    names = {b.inputs["bucket"] for b in _buckets(aws).values()}
    assert "aws-uae-prod-models-123456789012" in names


def test_data_buckets_use_the_platform_cmk_with_a_bucket_key(aws):
    platform_key = next(k for k in of_type(aws, "aws:kms/key:Key") if k.name == "platform").outputs["arn"]
    for name in DATA_BUCKETS:
        sse = child_of(
            aws,
            _buckets(aws)[name],
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        )
        assert sse.inputs["rules"] == [
            {
                "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": platform_key},
                "bucketKeyEnabled": True,
            }
        ]


def test_every_bucket_is_versioned_private_owner_enforced_and_tls_only(aws):
    for name, bucket in _buckets(aws).items():
        versioning = child_of(aws, bucket, "aws:s3/bucketVersioning:BucketVersioning")
        assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}, name
        block = child_of(aws, bucket, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
        assert all(
            block[k] is True
            for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        ), name
        ownership = child_of(aws, bucket, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
        assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
        statements = policy_doc(child_of(aws, bucket, "aws:s3/bucketPolicy:BucketPolicy"))["Statement"]
        deny = statements[0]
        arn = f"arn:aws:s3:::{bucket.inputs['bucket']}"
        assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
        assert deny["Resource"] == [arn, f"{arn}/*"]
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert all(s["Principal"] != "*" for s in statements[1:]), name


def test_buckets_log_access_to_the_log_bucket(aws):
    buckets = _buckets(aws)
    log_bucket = buckets["access-logs"].inputs["bucket"]
    for name in DATA_BUCKETS | {"audit-logs"}:
        logging = child_of(aws, buckets[name], "aws:s3/bucketLogging:BucketLogging").inputs
        assert logging["targetBucket"] == log_bucket
        assert logging["targetPrefix"] == buckets[name].inputs["bucket"] + "/"


def test_access_log_bucket_is_sse_s3_encrypted_and_only_s3_logging_may_write(aws):
    log_bucket = _buckets(aws)["access-logs"]
    sse = child_of(
        aws, log_bucket, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert sse.inputs["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    writer = policy_doc(child_of(aws, log_bucket, "aws:s3/bucketPolicy:BucketPolicy"))["Statement"][1]
    assert writer["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert writer["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_lifecycle_rules_follow_the_bucket_config(aws):
    for name in DATA_BUCKETS:
        (rule,) = child_of(
            aws, _buckets(aws)[name], "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
        ).inputs["rules"]
        assert rule["status"] == "Enabled"
        assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 90}
        assert rule["transitions"] == [{"days": 30, "storageClass": "STANDARD_IA"}]
        assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
        expected = None if name == "models" else {"days": 365}  # personal data expires; WORM models do not
        assert rule.get("expiration") == expected, name


def test_models_bucket_is_object_locked_for_audit_and_others_are_not(aws):
    buckets = _buckets(aws)
    locks = {
        r.name: r.inputs for r in of_type(aws, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    }
    assert set(locks) == {"bucket-models", "audit-logs"}
    assert buckets["models"].inputs["objectLockEnabled"] is True
    assert locks["bucket-models"]["rule"] == {"defaultRetention": {"mode": "COMPLIANCE", "days": 2555}}
    assert buckets["datasets"].inputs["objectLockEnabled"] is False


def test_bucket_without_versioning_drops_noncurrent_rules_and_refuses_object_lock():
    common = {"bucket_name": "b", "kms_key_arn": "arn:aws:kms:me-central-1:1:key/k", "access_log_bucket": "logs"}
    result = run_mocked(lambda: SecureBucket("b", SecureBucketArgs(**common, versioning=False)))
    assert not of_type(result, "aws:s3/bucketVersioning:BucketVersioning")
    (rule,) = of_type(result, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")[0].inputs["rules"]
    assert "noncurrentVersionExpiration" not in rule
    with pytest.raises(ValueError, match="object lock"):
        run_mocked(lambda: SecureBucket("b", SecureBucketArgs(**common, versioning=False, object_lock_days=30)))

"""CloudTrail: every region, validated log files, KMS-encrypted, into its own WORM bucket."""

from __future__ import annotations

from tests.components.aws.stack import child_of, policy_doc
from tests.conftest import of_type, one

ACCOUNT = "123456789012"


def test_trail_is_multi_region_validated_and_encrypted_with_the_audit_key(aws):
    trail = one(aws, "aws:cloudtrail/trail:Trail").inputs
    audit_key = next(k for k in of_type(aws, "aws:kms/key:Key") if k.name == "audit").outputs["arn"]
    assert trail["isMultiRegionTrail"] is True
    assert trail["includeGlobalServiceEvents"] is True
    assert trail["enableLogFileValidation"] is True
    assert trail["enableLogging"] is True
    assert trail["kmsKeyId"] == audit_key


def test_trail_bucket_is_its_own_locked_down_bucket(aws):
    trail = one(aws, "aws:cloudtrail/trail:Trail")
    bucket = next(b for b in of_type(aws, "aws:s3/bucket:Bucket") if b.name == "audit-logs")
    assert trail.inputs["s3BucketName"] == bucket.inputs["bucket"]
    lock = child_of(aws, bucket, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    assert lock.inputs["rule"]["defaultRetention"]["days"] >= 365


def test_only_this_trail_may_write_to_its_bucket(aws):
    bucket = next(b for b in of_type(aws, "aws:s3/bucket:Bucket") if b.name == "audit-logs")
    trail_arn = f"arn:aws:cloudtrail:me-central-1:{ACCOUNT}:trail/aws-uae-prod-audit"
    statements = {
        s["Sid"]: s for s in policy_doc(child_of(aws, bucket, "aws:s3/bucketPolicy:BucketPolicy"))["Statement"]
    }
    assert statements["CloudTrailAclCheck"]["Condition"] == {"StringEquals": {"aws:SourceArn": trail_arn}}
    write = statements["CloudTrailWrite"]
    assert write["Resource"] == f"arn:aws:s3:::{bucket.inputs['bucket']}/AWSLogs/{ACCOUNT}/*"
    assert write["Condition"]["StringEquals"] == {
        "aws:SourceArn": trail_arn,
        "s3:x-amz-acl": "bucket-owner-full-control",
    }
    assert "DenyInsecureTransport" in statements


def test_trail_also_streams_to_an_encrypted_log_group(aws):
    trail = one(aws, "aws:cloudtrail/trail:Trail").inputs
    group = next(g for g in of_type(aws, "aws:cloudwatch/logGroup:LogGroup") if g.name == "audit")
    assert trail["cloudWatchLogsGroupArn"] == f"arn:aws:logs:me-central-1:{ACCOUNT}:log-group:{group.inputs['name']}:*"
    audit_key = next(k for k in of_type(aws, "aws:kms/key:Key") if k.name == "audit").outputs["arn"]
    assert group.inputs["kmsKeyId"] == audit_key

"""The models bucket keeps every version for audit on every target (versioning + object lock), and a stack that
would deploy it without them is refused before any resource exists."""

from __future__ import annotations

import pytest

from components.buckets import BucketSpec
from components.errors import InputError
from components.services.model_artifacts import check_service_buckets
from tests.components.services.conftest import ServicesPreview

STACK_FILE = "stacks/Pulumi.x.yaml"
BUCKETS = [
    BucketSpec(name="features"),
    BucketSpec(name="models", purpose="models", object_lock_days=2555),
    BucketSpec(name="pipeline-artifacts", purpose="artifacts"),
]


def test_aws_models_bucket_is_versioned_and_compliance_locked(aws: ServicesPreview) -> None:
    locks = {
        r.name: r.inputs for r in aws.of_type("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    }
    lock = locks["bucket-models"]
    assert lock["rule"]["defaultRetention"] == {"mode": "COMPLIANCE", "days": 2555}
    bucket = aws.one("aws:s3/bucket:Bucket", "bucket-models").inputs
    assert bucket["objectLockEnabled"] is True
    versioning = aws.one("aws:s3/bucketVersioning:BucketVersioning", "bucket-models").inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"


def test_azure_models_container_has_version_level_immutability(azure: ServicesPreview) -> None:
    [container] = [
        r.inputs for r in azure.of_type("azure-native:storage:BlobContainer") if r.inputs["containerName"] == "models"
    ]
    assert container["immutableStorageWithVersioning"] == {"enabled": True}
    [policy] = [
        r.inputs
        for r in azure.of_type("azure-native:storage:BlobContainerImmutabilityPolicy")
        if r.inputs["containerName"] == "models"
    ]
    assert policy["immutabilityPeriodSinceCreationInDays"] == 2555
    blob = [
        r.inputs
        for r in azure.of_type("azure-native:storage:BlobServiceProperties")
        if r.inputs["accountName"].endswith("models")
    ]
    assert blob and blob[0]["isVersioningEnabled"] is True


def test_minio_models_bucket_is_object_locked(onprem: ServicesPreview) -> None:
    values = onprem.one("kubernetes:helm.sh/v3:Release", "object-store").inputs["values"]
    models = next(b for b in values["buckets"] if b["name"] == "models")
    assert models["objectlocking"] is True and models["versioning"] is True
    assert {"command": "retention set --default COMPLIANCE 2555d myminio/models"} in values["customCommands"]


def test_service_buckets_pass() -> None:
    check_service_buckets(BUCKETS, STACK_FILE)


def test_models_bucket_without_object_lock_is_refused() -> None:
    buckets = [*BUCKETS[:1], BucketSpec(name="models", purpose="models"), BUCKETS[2]]
    with pytest.raises(InputError, match=r"stacks/Pulumi.x.yaml: mlops:buckets\[1\].objectLockDays is missing"):
        check_service_buckets(buckets, STACK_FILE)
    check_service_buckets(buckets, STACK_FILE, require_model_object_lock=False)  # the visible switch


def test_models_bucket_without_versioning_is_refused() -> None:
    buckets = [*BUCKETS[:1], BucketSpec(name="models", purpose="models", versioning=False), BUCKETS[2]]
    with pytest.raises(InputError, match=r"mlops:buckets\[1\].versioning = False"):
        check_service_buckets(buckets, STACK_FILE)


def test_missing_service_bucket_is_named() -> None:
    with pytest.raises(InputError, match="no bucket named pipeline-artifacts"):
        check_service_buckets(BUCKETS[:2], STACK_FILE)


def test_stack_without_a_locked_models_bucket_fails_before_any_resource() -> None:
    from policies.preview.runner import PreviewError
    from tests.components.services.conftest import preview_services

    buckets = [
        {"name": "features"},
        {"name": "models", "purpose": "models"},
        {"name": "pipeline-artifacts", "purpose": "artifacts"},
    ]
    with pytest.raises((InputError, PreviewError), match="objectLockDays is missing"):
        preview_services("aws-uae-prod", {"buckets": buckets})


def test_refused_models_bucket_reads_like_a_config_error() -> None:
    """The component's InputError reaches the preview (and the CLI) as the message alone: the stack file and the key,
    what is allowed; no exception type, no traceback location."""
    from policies.preview.runner import PreviewError
    from tests.components.services.conftest import preview_services

    buckets = [
        {"name": "features"},
        {"name": "models", "purpose": "models", "versioning": False, "objectLockDays": 2555},
        {"name": "pipeline-artifacts", "purpose": "artifacts"},
    ]
    with pytest.raises((InputError, PreviewError)) as caught:
        preview_services("onprem-dc1", {"buckets": buckets})
    assert str(caught.value) == (
        "stacks/Pulumi.onprem-dc1.yaml: mlops:buckets[1].versioning = False: the models bucket must keep every "
        "version (rollback and audit); allowed: true"
    )

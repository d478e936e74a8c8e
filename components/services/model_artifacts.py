"""The model-artifact bucket must keep every deployed model version: versioning and object lock (WORM retention).

Each target enforces the lock where it makes the bucket (AWS S3 object lock in COMPLIANCE mode, Azure
version-level immutability with a retention policy, MinIO object lock with a COMPLIANCE default retention); this
module refuses, before any resource exists, a stack whose models bucket would be deployed without it.
"""

from __future__ import annotations

from collections.abc import Sequence

from components.buckets import BucketSpec
from components.errors import InputError

MODELS_BUCKET = "models"
REQUIRED_BUCKETS = ("features", MODELS_BUCKET, "pipeline-artifacts")
"""Buckets the services use: the offline store, model artifacts, KFP's pipeline root."""


def check_service_buckets(
    buckets: Sequence[BucketSpec], stack_file: str, *, require_model_object_lock: bool = True
) -> None:
    """Raise :class:`~components.errors.InputError` naming the key (in ``stack_file``) when a needed bucket is missing
    or the models bucket could lose a version (no versioning, no object lock)."""
    by_name = {b.name: (i, b) for i, b in enumerate(buckets)}
    missing = [name for name in REQUIRED_BUCKETS if name not in by_name]
    if missing:
        raise InputError(
            f"{stack_file}: mlops:buckets has no bucket named {', '.join(missing)}; the platform services need "
            f"{', '.join(REQUIRED_BUCKETS)} (features: Feast offline store; models: model artifacts; "
            "pipeline-artifacts: KFP pipeline root)"
        )
    index, models = by_name[MODELS_BUCKET]
    if not require_model_object_lock:
        return
    if not models.versioning:
        raise InputError(
            f"{stack_file}: mlops:buckets[{index}].versioning = False: the models bucket must keep "
            "every version (rollback and audit); allowed: true"
        )
    if models.object_lock_days is None:
        raise InputError(
            f"{stack_file}: mlops:buckets[{index}].objectLockDays is missing: the models bucket needs "
            "object lock (WORM retention for audit), e.g. objectLockDays: 2555"
        )

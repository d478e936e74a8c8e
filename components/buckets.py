"""What a component needs to know about one of the stack's buckets: a small typed spec, filled by the target
(``infra/targets``) from the stack's ``mlops:buckets``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BucketSpec:
    name: str
    purpose: str = "data"
    """``data``, ``models``, ``artifacts`` or ``logs``; tagged on the bucket."""
    versioning: bool = True
    object_lock_days: int | None = None
    """WORM default retention in days; None: no object lock."""
    expire_noncurrent_after_days: int = 90
    transition_to_infrequent_after_days: int | None = 30
    expiry_days: int | None = None
    """Days after which current objects expire (personal data: storage limitation); None keeps them."""

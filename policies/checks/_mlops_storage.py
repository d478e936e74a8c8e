"""Shared reading of object-store lifecycle rules for the personal-data expiry checks (CKV_MLOPS_381-383); defines
(registers) no check.

Buckets whose ``purpose`` is ``data`` or ``artifacts`` hold personal data (training datasets, features, pipeline
artifacts): GDPR Art. 5(1)(e) and UAE PDPL Art. 5 want them kept no longer than the purpose needs, so their current
objects must expire. The rules sit on other resources than the bucket/account/namespace a check sees, so the
checks read them from the stack's ``storage_inventory`` (written by the gate's translator); Checkov shows a check
one object at a time. Standard library only.
"""

from __future__ import annotations

import re
from typing import Any

from _mlops_values import clean_map, get_path

PERSONAL_DATA_PURPOSES = ("data", "artifacts")
"""``infra.config.PERSONAL_DATA_PURPOSES``, copied (Checkov cannot import the project)."""
MAX_EXPIRY_DAYS = 3650


def positive_days(value: Any) -> bool:
    """A whole number of days in [1, MAX_EXPIRY_DAYS] (Checkov may hand numbers over as strings)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return isinstance(value, (int, float)) and value == int(value) and 1 <= value <= MAX_EXPIRY_DAYS


def personal_data(tags: Any) -> bool:
    return str(clean_map(tags).get("purpose", "")).strip() in PERSONAL_DATA_PURPOSES


def s3_rules_expire(rules: Any) -> bool:
    """An enabled rule for the whole bucket (no prefix, tag or size filter) expires current objects after N days."""
    for rule in rules if isinstance(rules, list) else []:
        if not isinstance(rule, dict) or rule.get("status") != "Enabled":
            continue
        scope = rule.get("filter") or {}
        if not isinstance(scope, dict) or any(v not in (None, "", {}, []) for v in scope.values()):
            continue
        if positive_days(get_path(rule, "expiration", "days")):
            return True
    return False


def azure_rules_expire(rules: Any, container: str) -> bool:
    """An enabled lifecycle rule covering the whole container deletes its base blobs N days after creation."""
    for rule in rules if isinstance(rules, list) else []:
        if not isinstance(rule, dict) or rule.get("enabled") is not True:
            continue
        filters = get_path(rule, "definition", "filters") or {}
        if f"{container}/" not in (filters.get("prefixMatch") or []) or filters.get("blobIndexMatch"):
            continue
        delete = get_path(rule, "definition", "actions", "baseBlob", "delete") or {}
        if positive_days(delete.get("daysAfterCreationGreaterThan")):
            return True
    return False


_TAG = re.compile(r"^tag set myminio/(?P<bucket>[^\s/]+) purpose=(?P<purpose>\S+)$")
_ILM = re.compile(r"^ilm rule add (?:.* )?--expire-days (?P<days>\d+)(?: .*)? myminio/(?P<bucket>[^\s/]+)$")
_RM = re.compile(r"^ilm rule rm .*myminio/(?P<bucket>[^\s/]+)$")


def minio_unexpired(release: Any) -> list[str]:
    """Buckets of a MinIO release that fail: personal-data buckets (tagged ``purpose=data|artifacts`` by its ``mc``
    commands) whose last lifecycle command is not an ``ilm rule add --expire-days N`` for the whole bucket, and
    buckets with no purpose tag (their purpose, so whether they must expire, is unknown)."""
    if not isinstance(release, dict):
        return ["(unreadable release)"]
    commands = [c.strip() for c in (release.get("commands") or []) if isinstance(c, str)]
    tags = {m["bucket"]: m["purpose"] for m in map(_TAG.match, commands) if m}
    untagged = [b for b in release.get("buckets") or [] if b not in tags]
    personal = [b for b, purpose in tags.items() if purpose in PERSONAL_DATA_PURPOSES]
    expiring: dict[str, bool] = {}
    for command in commands:
        added, removed = _ILM.match(command), _RM.match(command)
        if added and "--prefix" not in command and "--tags" not in command:
            expiring[added["bucket"]] = positive_days(added["days"])
        elif removed:
            expiring[removed["bucket"]] = False
    return [*untagged, *(b for b in personal if not expiring.get(b))]

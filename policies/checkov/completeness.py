"""Results must cover what was sent: every framework, every checked resource type, and the custom checks."""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any

from policies.checkov.files import entity_type, framework_of
from policies.checkov.model import CUSTOM_PREFIX, CheckovError, CheckResult, CustomCheck

if TYPE_CHECKING:
    from policies.translate.model import Origin


def check_complete(
    reports: list[dict[str, Any]],
    results: list[CheckResult],
    sent: dict[tuple[str, str], tuple[str, str, Origin]],
    declared: dict[str, CustomCheck],
) -> None:
    """Results must cover what was sent: every framework, every resource of a type checks exist for, and the custom
    checks."""
    by_framework: dict[str, int] = {}
    for path, _ in sent:
        fw = framework_of(path.split("/", 2)[2]) or ""
        by_framework[fw] = by_framework.get(fw, 0) + 1
    counted = {r["check_type"]: int(r.get("summary", {}).get("resource_count", 0)) for r in reports}
    for fw, count in by_framework.items():
        if counted.get(fw, 0) < count:
            raise CheckovError(
                f"Checkov returned results for fewer resources than were sent ({fw}: {counted.get(fw, 0)} of {count}); "
                "some translated files were not scanned"
            )
    seen = {(r.scanned_path, r.resource_id) for r in results}
    checked_types = {(r.framework, entity_type(r.framework, r.resource_id)) for r in results}
    missing = []
    for path, rid in sent:
        fw = framework_of(path.split("/", 2)[2]) or ""
        if (path, rid) not in seen and (fw, entity_type(fw, rid)) in checked_types:
            missing.append((path, rid))
    if missing:
        shown = "\n  ".join(f"{rid} in {path}" for path, rid in missing[:20])
        more = f"\n  ... and {len(missing) - 20} more" if len(missing) > 20 else ""
        raise CheckovError(
            f"Checkov returned results for fewer resources than were sent; no result for:\n  {shown}{more}"
        )
    if (
        declared
        and _custom_applicable(declared, sent)
        and not any(r.check_id.startswith(CUSTOM_PREFIX) for r in results)
    ):
        raise CheckovError(
            f"none of the custom checks ({', '.join(sorted(declared))}) produced a result "
            "although resources they apply "
            "to were sent: Checkov did not load them"
        )
    produced = {r.check_id for r in results}
    silent = sorted(
        f"{c.id} ({c.path})"
        for c in declared.values()
        if c.id not in produced and not c.may_abstain and _custom_applicable({c.id: c}, sent, strict=True)
    )
    if silent:
        raise CheckovError(
            "custom checks produced no result although resources they apply to were sent (not loaded: a "
            "sub-folder without __init__.py, an import error, or a check that raised):\n  " + "\n  ".join(silent)
        )


def _custom_applicable(
    declared: dict[str, CustomCheck], sent: dict[tuple[str, str], tuple[str, str, Origin]], *, strict: bool = False
) -> bool:
    """Whether any sent resource is one a custom check applies to (any at all, for checks whose types are not
    literal). ``strict``: only checks whose framework is known, so one check can be held to its own result."""
    for path, rid in sent:
        fw = framework_of(path.split("/", 2)[2]) or ""
        kind = entity_type(fw, rid)
        for check in declared.values():
            if check.framework not in (None, fw) or (strict and check.framework is None):
                continue
            if not check.resources or any(fnmatch.fnmatchcase(kind, p) for p in check.resources):
                return True
    return False

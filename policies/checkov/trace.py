"""From Checkov's results back to the Pulumi resources they were translated from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from policies.checkov.model import CheckovError, CheckResult

if TYPE_CHECKING:
    from policies.translate.model import Origin

_SOURCE_LINK = "https://github.com/bridgecrewio/checkov/blob/main/{path}.py"


def _origin_for(
    key: tuple[str, str], framework: str, sent: dict[tuple[str, str], tuple[str, str, Origin]]
) -> tuple[str, str, Origin] | None:
    if key in sent:
        return sent[key]
    if framework == "kubernetes":
        # Checkov also reports the pod template of a workload (``Pod.<ns>.<name>.app-<name>``): same file, owner's name.
        path, resource_id = key
        rest = resource_id.split(".", 1)[-1]
        owners = [
            (len(rid), v)
            for (p, rid), v in sent.items()
            if p == path and (rest + ".").startswith(rid.split(".", 1)[-1] + ".")
        ]
        if owners:
            return max(owners, key=lambda pair: pair[0])[1]
    return None


def trace(reports: list[dict[str, Any]], sent: dict[tuple[str, str], tuple[str, str, Origin]]) -> list[CheckResult]:
    results: list[CheckResult] = []
    for report in reports:
        framework = report["check_type"]
        for bucket in ("passed_checks", "failed_checks", "skipped_checks"):
            for record in report.get("results", {}).get(bucket, []):
                key = (record.get("file_path", ""), record.get("resource", ""))
                found = _origin_for(key, framework, sent)
                if found is None:
                    raise CheckovError(
                        f"Checkov reported {record.get('check_id')} on {key[1]} in {key[0]}, "
                        "which no Pulumi resource was "
                        "translated to: findings must trace back to a resource, so the gate stops"
                    )
                _, rel, origin = found
                check_class = record.get("check_class") or ""
                guideline = record.get("guideline") or (
                    _SOURCE_LINK.format(path=check_class.replace(".", "/"))
                    if check_class.startswith("checkov.") and ".checks." in check_class
                    else None
                )
                results.append(
                    CheckResult(
                        check_id=record["check_id"],
                        check_name=record.get("check_name") or record["check_id"],
                        result=(record.get("check_result") or {}).get("result", bucket.split("_")[0].upper()),
                        framework=framework,
                        file=rel,
                        resource_id=key[1],
                        origin=origin,
                        scanned_path=key[0],
                        guideline=guideline,
                        evaluated_keys=tuple((record.get("check_result") or {}).get("evaluated_keys") or ()),
                    )
                )
    return results

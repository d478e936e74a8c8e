"""Records of processing against the code: every Feast feature service has one record, each record names only the
features its service returns, and the fairness policy's sensitive attributes are special-category data. The records
themselves (schema, files) are the organisation's: :mod:`policies.compliance.records`."""

from __future__ import annotations

from pathlib import Path

from policies.compliance.records import RECORDS_DIR, Record, RecordError, load_records

__all__ = [
    "RECORDS_DIR",
    "Record",
    "RecordError",
    "checked_records",
    "declared_services",
    "load_records",
    "record_for",
    "verify",
]


def declared_services() -> dict[str, set[str]]:
    """Feature service -> the features it returns, from the Feast repository's definitions (what ``apply``
    registers)."""
    import tempfile

    from feast import FeatureService

    from pipelines.features.definitions import build

    with tempfile.TemporaryDirectory() as tmp:
        objects = build(Path(tmp))
    return {
        o.name: {f.name for p in o.feature_view_projections for f in p.features}
        for o in objects
        if isinstance(o, FeatureService)
    }


def verify(records: list[Record], services: dict[str, set[str]], sensitive: tuple[str, ...]) -> list[str]:
    """Problems between the records and the repository: a service without a record, a record of an unknown service,
    a feature the service does not return or a returned feature the record leaves out, and a sensitive attribute
    (judged by the fairness policy) not declared ``special``."""
    problems = [
        f"feature service {name!r} has no record of processing in {RECORDS_DIR}"
        for name in sorted(set(services) - {r.feature_service for r in records})
    ]
    for record in records:
        where = f"record {record.feature_service!r}"
        if record.feature_service not in services:
            defined = ", ".join(sorted(services))
            problems.append(f"{where}: feature_service: no such feature service; defined: {defined}")
            continue
        listed = {c.feature for c in record.data_categories}
        returned = services[record.feature_service]
        problems += [
            f"{where}: data_categories: {name!r} is not a feature of the service" for name in sorted(listed - returned)
        ]
        problems += [
            f"{where}: data_categories: feature {name!r} is returned by the service but not recorded"
            for name in sorted(returned - listed)
        ]
        special = set(record.features("special"))
        problems += [
            f"{where}: data_categories: {name!r} is a sensitive attribute of the fairness policy "
            f"(policies/fairness.yaml) and must be category 'special'"
            for name in sensitive
            if name in returned and name not in special
        ]
    return problems


def checked_records() -> list[Record]:
    """The repository's records, validated and verified against Feast and the fairness policy (RecordError)."""
    from pipelines.steps.fairness_policy import load_policy

    records = load_records()
    problems = verify(records, declared_services(), load_policy().attributes)
    if problems:
        raise RecordError("records of processing do not match the feature repository:\n  " + "\n  ".join(problems))
    return records


def record_for(service: str) -> Record:
    """The record of one feature service (its retention drives expiry and erasure)."""
    for record in load_records():
        if record.feature_service == service:
            return record
    raise RecordError(f"feature service {service!r} has no record of processing in {RECORDS_DIR}")

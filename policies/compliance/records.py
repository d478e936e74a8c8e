"""Records of processing (GDPR Art. 30, UAE PDPL Art. 7): one YAML file per Feast feature service.

Each record in ``policies/compliance/processing/`` names its feature service and says why its data is processed, which
features are personal or special-category data, whose data it is, who receives it, how long it is kept, on which
lawful basis (GDPR Art. 6 and its UAE PDPL equivalent), who the controller and DPO are, and that nothing leaves the
UAE. :func:`load_records` validates the files strictly (errors name file and field); :func:`pipelines.privacy.records.verify`
checks them against the feature services the Feast repository defines and the sensitive attributes the fairness
policy judges. CI runs both (tests/pipelines/test_records.py); the gate's reports include the records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

RECORDS_DIR = Path(__file__).resolve().parent / "processing"

GDPR_BASES = {
    "consent": "Art. 6(1)(a)",
    "contract": "Art. 6(1)(b)",
    "legal_obligation": "Art. 6(1)(c)",
    "vital_interests": "Art. 6(1)(d)",
    "public_task": "Art. 6(1)(e)",
    "legitimate_interests": "Art. 6(1)(f)",
}
"""GDPR Art. 6(1) lawful bases and their points."""
PDPL_BASES = {
    "consent": "Art. 4 (consent, Art. 6)",
    "contract": "Art. 4(5)",
    "legal_obligation": "Art. 4(6)",
    "vital_interests": "Art. 4(9)",
    "public_interest": "Art. 4(1)",
    "legal_claims": "Art. 4(4)",
}
"""UAE PDPL bases: consent, or the Art. 4 cases in which processing without consent is lawful."""


class RecordError(ValueError):
    """A record that cannot be accepted; the message names file and field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contact(_Model):
    name: str = Field(min_length=2)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class DataCategory(_Model):
    feature: str = Field(min_length=1, description="a feature of the service, as Feast names it")
    category: Literal["personal", "special", "non_personal"]
    """``special``: special-category / sensitive personal data (GDPR Art. 9, UAE PDPL "sensitive personal data"),
    here the protected attributes the fairness policy judges."""
    description: str = Field(min_length=3)


class Recipient(_Model):
    name: str = Field(min_length=2)
    purpose: str = Field(min_length=10)


class Retention(_Model):
    days: int = Field(ge=1, le=3650)
    justification: str = Field(min_length=20)


class LawfulBasis(_Model):
    gdpr: Literal[tuple(GDPR_BASES)]  # type: ignore[valid-type]
    uae_pdpl: Literal[tuple(PDPL_BASES)]  # type: ignore[valid-type]
    justification: str = Field(min_length=20)


class Transfer(_Model):
    destination: str = Field(min_length=2)
    safeguard: str = Field(min_length=10)


class Record(_Model):
    version: Literal[1]
    feature_service: str = Field(min_length=1)
    purpose: str = Field(min_length=20)
    data_subjects: list[str] = Field(min_length=1)
    data_categories: list[DataCategory] = Field(min_length=1)
    recipients: list[Recipient] = Field(min_length=1)
    retention: Retention
    lawful_basis: LawfulBasis
    controller: Contact
    dpo: Contact
    storage_regions: list[str] = Field(min_length=1, description="where the data is stored (policies/residency.yaml)")
    international_transfers: list[Transfer] = Field(default_factory=list)

    @field_validator("data_categories")
    @classmethod
    def _unique_features(cls, value: list[DataCategory]) -> list[DataCategory]:
        names = [c.feature for c in value]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"feature(s) listed more than once: {', '.join(repeated)}")
        return value

    @field_validator("storage_regions")
    @classmethod
    def _resident(cls, value: list[str]) -> list[str]:
        from policies.organisation import organisation_regions

        allowed = sorted({r for regions in organisation_regions().values() for r in regions})
        outside = [r for r in value if r not in allowed]
        if outside:
            raise ValueError(
                f"{', '.join(outside)} not in the residency policy (policies/residency.yaml): "
                f"allowed {', '.join(allowed)}"
            )
        return value

    @field_validator("international_transfers")
    @classmethod
    def _no_transfers(cls, value: list[Transfer]) -> list[Transfer]:
        if value:
            raise ValueError(
                "the platform keeps personal data in UAE regions: no international transfer may be "
                "recorded (change the residency policy and this schema through review first)"
            )
        return value

    def features(self, category: str) -> list[str]:
        return [c.feature for c in self.data_categories if c.category == category]


def load_records(directory: Path | str | None = None) -> list[Record]:
    """Every ``*.yaml`` record in ``directory``, validated; :class:`RecordError` lists each problem as
    ``file: field: message``. Two records for one feature service are refused."""
    import yaml

    directory = Path(directory or RECORDS_DIR)
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise RecordError(f"{directory}: no records of processing (*.yaml)")
    records: list[Record] = []
    problems: list[str] = []
    for path in files:
        try:
            raw = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            problems.append(f"{path}: cannot be read as YAML: {exc}")
            continue
        if not isinstance(raw, dict):
            problems.append(f"{path}: must hold a mapping (the record's fields)")
            continue
        try:
            records.append(Record.model_validate(raw))
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or "(record)"
                problems.append(f"{path}: {field}: {err['msg']}")
    seen: dict[str, int] = {}
    for record in records:
        seen[record.feature_service] = seen.get(record.feature_service, 0) + 1
    problems += [
        f"{directory}: feature service {name!r} has {n} records; one per service" for name, n in seen.items() if n > 1
    ]
    if problems:
        raise RecordError("invalid records of processing:\n  " + "\n  ".join(problems))
    return records

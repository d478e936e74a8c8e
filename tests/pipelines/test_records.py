"""Records of processing: the shipped records validate, match the Feast repository and the fairness policy, and
every way they can drift from them fails with the file and field named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from pipelines.privacy.records import RECORDS_DIR, RecordError, checked_records, declared_services, load_records, verify
from pipelines.steps.fairness_policy import load_policy

SHIPPED = RECORDS_DIR / "credit_risk_v1.yaml"


@pytest.fixture(scope="module")
def services() -> dict[str, set[str]]:
    return declared_services()


def _copy(tmp_path: Path, **changes) -> Path:
    doc = yaml.safe_load(SHIPPED.read_text())
    doc.update(changes)
    (tmp_path / "credit_risk_v1.yaml").write_text(yaml.safe_dump(doc))
    return tmp_path


def test_shipped_records_cover_every_feature_service(services):
    records = checked_records()
    assert {r.feature_service for r in records} == set(services)
    record = records[0]
    assert set(record.features("special")) >= set(load_policy().attributes)
    assert record.international_transfers == []


def test_a_feature_service_without_a_record_fails(services):
    extra = {**services, "credit_risk_v2": {"annual_income"}}
    problems = verify(load_records(), extra, load_policy().attributes)
    assert problems == [f"feature service 'credit_risk_v2' has no record of processing in {RECORDS_DIR}"]


def test_a_record_of_an_unknown_service_or_feature_fails(tmp_path, services):
    doc = yaml.safe_load(SHIPPED.read_text())
    renamed = load_records(_copy(tmp_path, feature_service="credit_risk_v9"))
    problems = verify(renamed, services, load_policy().attributes)
    assert any("'credit_risk_v9': feature_service: no such feature service" in p for p in problems)
    assert any("'credit_risk_v1' has no record" in p for p in problems)
    categories = [
        *doc["data_categories"],
        {"feature": "favourite_colour", "category": "personal", "description": "not a feature"},
    ]
    problems = verify(
        load_records(_copy(tmp_path, feature_service="credit_risk_v1", data_categories=categories)),
        services,
        load_policy().attributes,
    )
    assert problems == ["record 'credit_risk_v1': data_categories: 'favourite_colour' is not a feature of the service"]
    missing = [c for c in doc["data_categories"] if c["feature"] != "loan_amount"]
    problems = verify(load_records(_copy(tmp_path, data_categories=missing)), services, load_policy().attributes)
    assert problems == [
        "record 'credit_risk_v1': data_categories: feature 'loan_amount' is returned by the service but not recorded"
    ]


def test_a_sensitive_attribute_not_declared_special_fails(tmp_path, services):
    doc = yaml.safe_load(SHIPPED.read_text())
    for category in doc["data_categories"]:
        if category["feature"] == "gender":
            category["category"] = "personal"
    problems = verify(
        load_records(_copy(tmp_path, data_categories=doc["data_categories"])), services, load_policy().attributes
    )
    assert problems == [
        (
            "record 'credit_risk_v1': data_categories: 'gender' is a sensitive attribute of the fairness "
            "policy (policies/fairness.yaml) and must be category 'special'"
        )
    ]


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"retention": {"days": 0, "justification": "x" * 30}}, "retention.days"),
        ({"dpo": {"name": "DPO", "email": "not-an-address"}}, "dpo.email"),
        ({"lawful_basis": {"gdpr": "because", "uae_pdpl": "contract", "justification": "x" * 30}}, "lawful_basis.gdpr"),
        ({"storage_regions": ["eu-west-1"]}, "storage_regions"),
        (
            {"international_transfers": [{"destination": "US", "safeguard": "standard contractual clauses"}]},
            "international_transfers",
        ),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_schema_errors_name_file_and_field(tmp_path, changes, field):
    path = _copy(tmp_path, **changes)
    with pytest.raises(RecordError) as err:
        load_records(path)
    assert f"{path / 'credit_risk_v1.yaml'}: {field}:" in str(err.value)


def test_two_records_for_one_service_and_unreadable_files_fail(tmp_path):
    _copy(tmp_path)
    shutil.copy(tmp_path / "credit_risk_v1.yaml", tmp_path / "copy.yaml")
    (tmp_path / "broken.yaml").write_text("- a list, not a record\n")
    with pytest.raises(RecordError) as err:
        load_records(tmp_path)
    assert "feature service 'credit_risk_v1' has 2 records" in str(err.value)
    assert f"{tmp_path / 'broken.yaml'}: must hold a mapping" in str(err.value)


def test_bucket_expiry_never_outlives_the_declared_retention():
    """The default expiry of personal-data buckets, and every shipped stack's, is within the records' retention."""
    from infra.config import DEFAULT_PERSONAL_DATA_EXPIRY_DAYS, PERSONAL_DATA_PURPOSES, Bucket
    from policies.preview.runner import REPO_ROOT

    shortest = min(r.retention.days for r in load_records())
    assert DEFAULT_PERSONAL_DATA_EXPIRY_DAYS <= shortest
    for stack in ("aws-uae-prod", "azure-uae-prod", "onprem-dc1"):
        doc = yaml.safe_load((REPO_ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
        for bucket in (Bucket.model_validate(b) for b in doc["config"]["mlops:buckets"]):
            if bucket.purpose in PERSONAL_DATA_PURPOSES:
                assert bucket.expiry_days and bucket.expiry_days <= shortest, (stack, bucket.name)

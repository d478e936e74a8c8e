"""The feature repository: generator, declared schema, validated atomic ingestion, point-in-time retrieval."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.features import schema
from pipelines.features.generate import generate, reference_join
from pipelines.features.store import IngestionRefused, LocalFeatureStore


def test_generator_is_deterministic_per_seed_and_spreads_events_over_time():
    a, b, c = generate(2_000, seed=1), generate(2_000, seed=1), generate(2_000, seed=2)
    for table in schema.TABLES:
        pd.testing.assert_frame_equal(a[table], b[table])
    assert not a["credit_bureau"].equals(c["credit_bureau"])
    apps = a["loan_applications"]
    assert 1_900 <= len(apps) <= 2_000
    assert apps[schema.TIMESTAMP].max() - apps[schema.TIMESTAMP].min() > pd.Timedelta(days=500)
    assert 0.05 < apps[schema.LABEL].mean() < 0.4
    # several bureau snapshots per applicant: which one a join picks matters
    assert a["credit_bureau"].groupby(schema.ENTITY_KEY).size().max() > 1


def test_generator_refuses_sizes_outside_the_supported_range():
    with pytest.raises(ValueError, match="rows must be between"):
        generate(10)


def test_every_feast_field_has_a_declared_type_and_the_service_carries_the_sensitive_attribute(tmp_path):
    from feast import FeatureService, FeatureView

    objects = __import__("pipelines.features.definitions", fromlist=["build"]).build(tmp_path)
    views = [o for o in objects if isinstance(o, FeatureView)]
    service = next(o for o in objects if isinstance(o, FeatureService))
    assert service.name == "credit_risk_v1"
    declared = {f.name: f.dtype for v in views for f in v.schema if f.name != schema.ENTITY_KEY}
    assert set(declared) == {f.name for f in schema.service_fields()}
    assert all(str(declared[a]) == "String" for a in schema.SENSITIVE_ATTRIBUTES)
    assert schema.SENSITIVE_ATTRIBUTES == ("age_band", "gender") and str(declared["annual_income"]) == "Float64"
    assert service.tags["sensitive_attributes"] == "age_band,gender"
    numeric, categorical = schema.model_inputs()
    assert not set(schema.SENSITIVE_ATTRIBUTES) & {*numeric, *categorical}, "a sensitive attribute is a model input"
    assert schema.LABEL not in declared  # the label never leaks into the features


@pytest.mark.parametrize(
    "corrupt, rule",
    [
        (lambda df: df.assign(credit_utilization=df["credit_utilization"].where(df.index != 3, None)), "null"),
        (lambda df: df.assign(open_accounts=df["open_accounts"].astype(float)), "type"),
        (lambda df: df.assign(debt_to_income=df["debt_to_income"].where(df.index != 5, 99.0)), "range"),
        (lambda df: df.drop(columns="inquiries_6m"), "missing"),
    ],
)
def test_a_bad_batch_is_refused_with_a_report_and_stored_rows_survive(tmp_path, corrupt, rule):
    store = LocalFeatureStore(tmp_path)
    bureau = generate(1_000, seed=3)["credit_bureau"]
    stored = store.ingest("credit_bureau", bureau.iloc[:500])
    before = store.source_path("credit_bureau").read_bytes()
    with pytest.raises(IngestionRefused) as refused:
        store.ingest("credit_bureau", corrupt(bureau.iloc[500:].reset_index(drop=True)))
    assert [i.rule for i in refused.value.report.issues] == [rule]
    assert refused.value.report_path.exists() and rule in refused.value.report_path.read_text()
    assert store.source_path("credit_bureau").read_bytes() == before
    assert len(pd.read_parquet(store.source_path("credit_bureau"))) == stored == 500


def test_unknown_categories_are_refused_and_good_batches_append_idempotently(tmp_path):
    store = LocalFeatureStore(tmp_path)
    profile = generate(1_000, seed=3)["applicant_profile"]
    with pytest.raises(IngestionRefused, match="allowed"):
        store.ingest("applicant_profile", profile.assign(age_band="unknown"))
    assert store.ingest("applicant_profile", profile.iloc[:400]) == 400
    assert store.ingest("applicant_profile", profile) == len(profile)
    assert store.ingest("applicant_profile", profile) == len(profile)  # re-ingesting adds nothing
    assert not list(tmp_path.glob("data/*.tmp"))


def test_retrieval_is_point_in_time_correct_and_keeps_every_entity_row(small_store):
    entities = small_store.entity_rows()
    early = entities.head(5).assign(event_timestamp=pd.Timestamp("2023-06-01", tz="UTC"))
    asked = pd.concat([entities, entities.head(7), early], ignore_index=True)  # duplicates and too-early rows
    got = small_store.historical(asked)
    assert got.rows_asked == got.rows_got == len(asked)

    tables = {t: pd.read_parquet(small_store.source_path(t)) for t in schema.TABLES}
    tables["loan_applications"] = tables["loan_applications"].drop(columns=schema.LABEL)
    expected = reference_join(asked, tables)
    keys = [schema.ENTITY_KEY, schema.TIMESTAMP, "loan_amount"]
    actual = got.frame.sort_values(keys, ignore_index=True)
    pd.testing.assert_frame_equal(
        actual, expected[actual.columns].sort_values(keys, ignore_index=True), check_dtype=False
    )
    assert (
        got.frame.loc[got.frame[schema.TIMESTAMP] < pd.Timestamp("2024-01-01", tz="UTC"), "annual_income"].isna().all()
    )


def test_online_store_serves_materialized_features(small_store):
    applicant = int(small_store.entity_rows()[schema.ENTITY_KEY].iloc[0])
    store = small_store.feast()
    online = store.get_online_features(
        features=store.get_feature_service("credit_risk_v1"), entity_rows=[{schema.ENTITY_KEY: applicant}]
    ).to_dict()
    assert online["annual_income"][0] is not None and online["age_band"][0] in schema.AGE_BANDS
    assert online["gender"][0] in schema.GENDERS


def test_the_file_offline_store_drops_entity_rows_that_duckdb_keeps(small_store, tmp_path):
    """Why the embedded store uses DuckDB: Feast's file store silently loses duplicate and too-early entity rows."""
    import shutil

    file_store = LocalFeatureStore(tmp_path / "file_repo", offline_store="file")
    for table in schema.TABLES:
        file_store.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(small_store.source_path(table), file_store.source_path(table))
    file_store.apply()
    entities = small_store.entity_rows()
    asked = pd.concat(
        [entities, entities.head(7), entities.head(5).assign(event_timestamp=pd.Timestamp("2023-06-01", tz="UTC"))],
        ignore_index=True,
    )
    by_file, by_duckdb = file_store.historical(asked), small_store.historical(asked)
    assert by_duckdb.rows_got == len(asked)
    assert by_file.rows_got < len(asked)


def test_bootstrap_does_not_touch_the_online_store_and_concurrent_bootstraps_are_safe(tmp_path):
    """Old bug: bootstrap materialized before validate-data ran, so an unvalidated batch was served at once."""
    import os
    import subprocess
    import sys

    from pipelines.features.generate import MIN_ROWS

    script = (
        "import sys; from pipelines.features.store import LocalFeatureStore; "
        f"LocalFeatureStore(sys.argv[1]).bootstrap(rows={MIN_ROWS}, seed=3, progress=lambda _: None)"
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path / "repo")],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.getcwd()},
        )
        for _ in range(2)
    ]
    for child in children:
        assert child.wait(timeout=300) == 0, child.stderr.read()
    store = LocalFeatureStore(tmp_path / "repo")
    assert store.has_data() and store.materialized() and not any(store.materialized().values())
    start, end = store.materialize(end="2025-01-01")
    assert end.isoformat().startswith("2025-01-01") and start < end
    assert all(windows == [(start, end)] for windows in store.materialized().values()), store.materialized()

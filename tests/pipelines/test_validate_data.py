"""Validate step: schema, nulls, ranges, label balance, drift; a failure raises with a readable report."""

import pandas as pd
import pytest

from pipelines.steps.validate_data import DataValidationFailed, validate_data


def test_clean_data_passes_with_a_report(training_data, tmp_path):
    summary = validate_data(training_data["dataset"], training_data["profile"], str(tmp_path / "r.md"))
    assert summary["ok"] and max(summary["psi"].values()) < 0.25
    assert (tmp_path / "r.md").read_text().startswith("# Data validation: PASSED")


@pytest.mark.parametrize(
    "corrupt, rule",
    [
        (lambda df: df.assign(annual_income=df["annual_income"] * 4), "drift"),
        (lambda df: df.assign(defaulted_12m=0), "balance"),
        (lambda df: df.assign(loan_amount=df["loan_amount"].where(df.index > 10)), "null"),
        (lambda df: df.assign(credit_utilization=df["credit_utilization"] + 2), "range"),
    ],
)
def test_bad_data_stops_with_the_report_written_first(training_data, tmp_path, corrupt, rule):
    bad = tmp_path / "bad.parquet"
    corrupt(pd.read_parquet(training_data["dataset"])).to_parquet(bad)
    with pytest.raises(DataValidationFailed, match="FAILED") as failed:
        validate_data(str(bad), training_data["profile"], str(tmp_path / "r.md"))
    assert rule in {i["rule"] for i in failed.value.summary["issues"]}
    assert f"[{rule}]" in (tmp_path / "r.md").read_text()


def test_validate_component_runs_locally_and_fails_the_task_on_bad_data(training_data, local_runner, tmp_path):
    from kfp import dsl

    from pipelines.components.validate_data import validate_data as component

    @dsl.pipeline
    def check(dataset_uri: str, profile_uri: str, min_rows: int):
        data = dsl.importer(artifact_uri=dataset_uri, artifact_class=dsl.Dataset)
        profile = dsl.importer(artifact_uri=profile_uri, artifact_class=dsl.Artifact)
        component(dataset=data.output, reference_profile=profile.output, min_rows=min_rows)

    check(dataset_uri=training_data["dataset"], profile_uri=training_data["profile"], min_rows=100)
    with pytest.raises(RuntimeError, match="validate-data"):
        check(dataset_uri=training_data["dataset"], profile_uri=training_data["profile"], min_rows=10**7)
    report = next(local_runner.glob("check-*/validate-data/report"))
    assert report.read_text().startswith("# Data validation")

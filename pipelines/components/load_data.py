"""Component: load point-in-time training data from a Feast feature service into a Dataset artifact."""

from typing import NamedTuple

from kfp.dsl import Artifact, Dataset, Output

from pipelines.components._runtime import FEAST_PACKAGES, STEP_EMBEDDED_PACKAGES, component


@component(FEAST_PACKAGES, STEP_EMBEDDED_PACKAGES)
def load_training_data(
    feature_repo: str,
    feature_service: str,
    start: str,
    end: str,
    reference_start: str,
    reference_end: str,
    dataset: Output[Dataset],
    reference_profile: Output[Artifact],
) -> NamedTuple("LoadOutputs", [("rows_asked", int), ("rows_got", int), ("data_hash", str)]):
    """Applications in [start, end) joined point-in-time with the feature service; metadata: rows and sha256."""
    from collections import namedtuple

    from pipelines.steps.load_data import load_training_data as load

    info = load(
        feature_repo, feature_service, start, end, reference_start, reference_end, dataset.path, reference_profile.path
    )
    dataset.metadata.update(info)
    reference_profile.metadata.update({"window": [reference_start, reference_end], "rows": info["reference_rows"]})
    from pipelines.steps.progress import emit

    emit(
        "data",
        f"asked for {info['rows_asked']} entity rows, got {info['rows_got']}; sha256 {info['data_hash']}",
        rows_asked=info["rows_asked"],
        rows_got=info["rows_got"],
        sha256=info["data_hash"],
    )
    return namedtuple("LoadOutputs", ["rows_asked", "rows_got", "data_hash"])(
        info["rows_asked"], info["rows_got"], info["data_hash"]
    )

"""Component: load validated features into the online store (what the live model reads); runs after validate-data."""

from pipelines.components._runtime import FEAST_PACKAGES, STEP_EMBEDDED_PACKAGES, component


@component(FEAST_PACKAGES, STEP_EMBEDDED_PACKAGES)
def materialize_features(feature_repo: str, end: str) -> str:
    """Materialize every feature's latest value up to ``end`` (the training window's end); returns the window.

    Runs only after validate-data passed, so a batch that fails validation never changes what is served. On a
    cluster ``feature_repo`` is the mounted Feast repository.
    """
    from pipelines.features.store import LocalFeatureStore
    from pipelines.steps.progress import emit

    start, stop = LocalFeatureStore(feature_repo).materialize(end=end)
    window = f"{start.isoformat()} .. {stop.isoformat()}"
    emit(
        "materialized",
        f"materialized features {window} into the online store",
        start=start.isoformat(),
        end=stop.isoformat(),
    )
    return window

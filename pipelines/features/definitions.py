"""Feast objects for the credit-risk repository, built from :mod:`pipelines.features.schema`.

Built by a function (not module globals) because the sources point into the store directory the caller chose.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pipelines.features import schema

_FEAST_TYPES = {"int64": "Int64", "float64": "Float64", "string": "String"}


def build(data_dir: Path) -> list:
    """Entity, sources, feature views and the versioned feature service, ready for ``FeatureStore.apply``."""
    from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
    from feast import types as feast_types

    applicant = Entity(
        name=schema.ENTITY,
        join_keys=[schema.ENTITY_KEY],
        value_type=ValueType.INT64,
        description="A credit applicant (pseudonymous id)",
    )
    views = []
    for table in schema.SERVICE_TABLES:
        source = FileSource(
            name=f"{table.name}_source",
            path=str(Path(data_dir) / f"{table.name}.parquet"),
            timestamp_field=schema.TIMESTAMP,
        )
        views.append(
            FeatureView(
                name=table.name,
                entities=[applicant],
                ttl=timedelta(days=table.ttl_days),
                schema=[
                    Field(name=f.name, dtype=getattr(feast_types, _FEAST_TYPES[f.dtype]), description=f.description)
                    for f in table.features
                ],
                source=source,
                online=True,
                description=table.description,
                tags={"pii": "sensitive" if any(f.sensitive for f in table.fields) else "none"},
            )
        )
    service = FeatureService(
        name=schema.FEATURE_SERVICE,
        features=list(views),
        description="Credit default risk model inputs, version 1",
        tags={"sensitive_attributes": ",".join(schema.SENSITIVE_ATTRIBUTES), "label": schema.LABEL},
    )
    return [applicant, *views, service]

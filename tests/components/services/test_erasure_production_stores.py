"""`mlops data erase` against the production shape of the feature store: SQL registry on PostgreSQL and the Redis
online store, both over verified TLS on loopback (feature_store.yaml rendered by the component's own renderer).
After erasure the subject's Redis entry is gone and the others are still served."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from components.services import feature_store_config as fsc
from tests.components.services import loopback_stores as stores
from tests.components.services.test_feature_store_integration import render

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[stores.Server, stores.Server, stores.Tls]]:
    missing = stores.missing_servers()
    if missing:
        pytest.skip(f"needs the Debian packages {', '.join(missing)} (`make system-packages` installs them)")
    workdir = tmp_path_factory.mktemp("loopback-stores")
    tls = stores.make_tls(workdir)
    with stores.postgres_tls(tls, database="feast") as postgres, stores.redis_tls(workdir, tls) as redis:
        yield postgres, redis, tls


def _store(tmp_path: Path, config):
    """A Feast repository of the credit-risk definitions with ``config(data directory)``, applied and materialized."""
    import pandas as pd
    from feast import FeatureStore

    from pipelines.features import definitions, schema
    from pipelines.features.generate import generate

    data = tmp_path / "repo" / "data"
    data.mkdir(parents=True)
    tables = generate(1_000, seed=3)
    for name, frame in tables.items():
        frame.to_parquet(data / f"{name}.parquet", index=False)
    (tmp_path / "repo" / fsc.FEATURE_STORE_FILE).write_text(config(data))
    store = FeatureStore(repo_path=str(tmp_path / "repo"))
    store.apply(definitions.build(data))
    stamps = pd.concat([tables[t.name][schema.TIMESTAMP] for t in schema.SERVICE_TABLES])
    store.materialize(
        start_date=stamps.min().to_pydatetime(), end_date=(stamps.max() + pd.Timedelta(seconds=1)).to_pydatetime()
    )
    subject, other = (int(i) for i in tables["applicant_profile"][schema.ENTITY_KEY].drop_duplicates().head(2))
    return store, subject, other


def _erase_and_check(store, subject: int, other: int, tmp_path: Path) -> list:
    """Erase ``subject``; it is no longer served online, ``other`` still is, a rerun removes nothing. The online
    steps of the record."""
    from pipelines.features import schema
    from pipelines.privacy.erasure import erase_subject

    service = store.get_feature_service(schema.FEATURE_SERVICE)

    def online(applicant: int) -> list:
        row = store.get_online_features(features=service, entity_rows=[{schema.ENTITY_KEY: applicant}]).to_dict()
        return [v[0] for k, v in row.items() if k != schema.ENTITY_KEY]

    assert all(v is not None for v in online(subject))
    record = erase_subject(subject, feature_repo=tmp_path / "repo", artifact_roots=[], log_dir=tmp_path / "erasure")
    assert record.complete, record.failures
    assert all(v is None for v in online(subject)) and all(v is not None for v in online(other))
    again = erase_subject(subject, feature_repo=tmp_path / "repo", artifact_roots=[], log_dir=tmp_path / "erasure")
    assert again.complete and sum(s.removed for s in again.steps) == 0
    return [s for s in record.steps if s.store == "online"]


def test_erasure_reaches_the_redis_online_store(servers, tmp_path: Path) -> None:
    postgres, redis, tls = servers
    store, subject, other = _store(tmp_path, lambda data: render(postgres, redis, tls, data))
    [redis_step] = _erase_and_check(store, subject, other, tmp_path)
    assert redis_step.removed == 1 and redis_step.location == f"redis {redis.host}:{redis.port}"


def test_erasure_reaches_a_postgresql_online_store(servers, tmp_path: Path) -> None:
    import yaml

    from pipelines.features import schema

    postgres, redis, tls = servers

    def config(data: Path) -> str:
        doc = yaml.safe_load(render(postgres, redis, tls, data))
        doc["online_store"] = {
            "type": "postgres",
            "host": postgres.host,
            "port": postgres.port,
            "database": postgres.database,
            "user": postgres.user,
            "password": postgres.password,
            "sslmode": "verify-full",
            "sslrootcert_path": str(tls.ca),
        }
        return yaml.safe_dump(doc)

    store, subject, other = _store(tmp_path, config)
    steps = _erase_and_check(store, subject, other, tmp_path)
    assert {s.location for s in steps} == {f"postgres table {schema.PROJECT}_{t.name}" for t in schema.SERVICE_TABLES}
    assert all(s.removed > 0 for s in steps)  # one row per feature of the view

"""End to end against real servers: a ``feature_store.yaml`` of the production shape (SQL registry on PostgreSQL
over verified TLS, Redis online store over verified TLS), rendered by the component's own renderer, drives Feast's
``apply``, ``materialize`` and online reads of the credit-risk repository."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from components.services import feature_store_config as fsc
from tests.components.services import loopback_stores as stores

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


def render(postgres: stores.Server, redis: stores.Server, tls: stores.Tls, offline: Path) -> str:
    return fsc.render(
        fsc.RegistryDatabase(
            host=postgres.host,
            port=postgres.port,
            database=postgres.database,
            user=postgres.user,
            password=postgres.password,
            ssl_mode="verify-full",
            ssl_root_cert=str(tls.ca),
        ),
        fsc.OnlineRedis(host=redis.host, port=redis.port, password=redis.password, tls=True, ca_cert=str(tls.ca)),
        fsc.OfflineStore(uri=str(offline)),
    )


def test_servers_refuse_plaintext(servers: tuple[stores.Server, stores.Server, stores.Tls]) -> None:
    import psycopg
    import redis as redis_client

    postgres, redis, tls = servers
    with pytest.raises(psycopg.OperationalError, match="no encryption|pg_hba.conf rejects"):
        psycopg.connect(
            host="127.0.0.1",
            port=postgres.port,
            user=postgres.user,
            password=postgres.password,
            dbname=postgres.database,
            sslmode="disable",
            connect_timeout=5,
        )
    with pytest.raises(redis_client.exceptions.ConnectionError):
        redis_client.Redis(host="127.0.0.1", port=redis.port, password=redis.password, socket_timeout=3).ping()
    secured = redis_client.Redis(
        host=redis.host, port=redis.port, password=redis.password, ssl=True, ssl_ca_certs=str(tls.ca)
    )
    assert secured.ping() is True


def test_apply_materialize_and_read_online(
    servers: tuple[stores.Server, stores.Server, stores.Tls], tmp_path: Path
) -> None:
    import pandas as pd
    from feast import FeatureStore

    from pipelines.features import definitions, schema
    from pipelines.features.generate import generate

    postgres, redis, tls = servers
    data = tmp_path / "data"
    data.mkdir()
    tables = generate(2_000, seed=11)
    for name, frame in tables.items():
        frame.to_parquet(data / f"{name}.parquet", index=False)
    (tmp_path / fsc.FEATURE_STORE_FILE).write_text(render(postgres, redis, tls, data))

    store = FeatureStore(repo_path=str(tmp_path))
    assert store.config.registry.registry_type == "sql"
    assert store.config.online_store.type == "redis"
    store.apply(definitions.build(data))

    # The registry lives in PostgreSQL: a second store (a fresh process's view) sees what was applied.
    again = FeatureStore(repo_path=str(tmp_path))
    assert {v.name for v in again.list_feature_views()} == {t.name for t in schema.SERVICE_TABLES}

    stamps = pd.concat([tables[t.name][schema.TIMESTAMP] for t in schema.SERVICE_TABLES])
    store.materialize(
        start_date=stamps.min().to_pydatetime(), end_date=(stamps.max() + pd.Timedelta(seconds=1)).to_pydatetime()
    )

    table = schema.SERVICE_TABLES[0]
    frame = tables[table.name].sort_values(schema.TIMESTAMP)
    latest = frame.groupby(schema.ENTITY_KEY).tail(1).set_index(schema.ENTITY_KEY)
    ids = [int(i) for i in latest.index[:25]]
    online = again.get_online_features(
        features=[f"{table.name}:{f.name}" for f in table.features], entity_rows=[{schema.ENTITY_KEY: i} for i in ids]
    ).to_dict()
    assert online[schema.ENTITY_KEY] == ids
    for field in table.features:  # every feature's latest value per applicant, as materialized
        expected = latest.loc[ids, field.name].tolist()
        assert online[field.name] == (expected if field.dtype == "string" else pytest.approx(expected)), field.name

    # The values really are in Redis (the online store), keyed by the project.
    import redis as redis_client

    client = redis_client.Redis(
        host=redis.host, port=redis.port, password=redis.password, ssl=True, ssl_ca_certs=str(tls.ca)
    )
    assert client.dbsize() >= len(latest)

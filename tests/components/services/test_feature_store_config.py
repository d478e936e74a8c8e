"""feature_store.yaml: rendered from each stack's outputs by the component, accepted by Feast's own parser, of the
production shape (SQL registry on PostgreSQL over TLS, Redis over TLS, offline store on the stack's bucket), and
only ever handled as a secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from components.services import feature_store_config as fsc
from tests.components.services.conftest import ServicesPreview

SECRET_TEXT = "[secret]"


def load_with_feast(text: str, tmp_path: Path):
    """Feast's own loader (the one `feast apply` and the feature server use)."""
    from feast.repo_config import load_repo_config

    path = tmp_path / fsc.FEATURE_STORE_FILE
    path.write_text(text)
    return load_repo_config(tmp_path, path)


def test_each_stack_renders_one_config_that_feast_loads(any_stack: ServicesPreview, tmp_path: Path) -> None:
    assert len(any_stack.feature_store_yaml) == 1
    config = load_with_feast(any_stack.feature_store_yaml[0], tmp_path)
    assert config.project == fsc.PROJECT
    assert config.registry.registry_type == "sql"
    assert config.registry.path.startswith("postgresql+psycopg://")
    assert config.online_store.type == "redis"
    assert "ssl=true" in config.online_store.connection_string.split(",")
    assert config.offline_store.type == "duckdb"


@pytest.mark.parametrize(
    ("stack", "sslmode", "bucket_prefix"),
    [
        ("aws", "verify-full", "s3://aws-uae-prod-features-"),
        ("azure", "verify-full", "abfss://features@"),
        ("onprem", "verify-full", "s3://features"),
    ],
)
def test_registry_tls_and_offline_store_on_the_stacks_features_bucket(
    stack: str, sslmode: str, bucket_prefix: str, request: pytest.FixtureRequest
) -> None:
    preview: ServicesPreview = request.getfixturevalue(stack)
    doc = yaml.safe_load(preview.feature_store_yaml[0])
    assert f"sslmode={sslmode}" in doc["registry"]["path"]
    assert doc["offline_store"]["staging_location"].startswith(bucket_prefix)
    if stack == "onprem":  # private CA: both clients verify against the site CA the pod mounts
        assert "sslrootcert=%2Fetc%2Ffeast%2Fca%2Fca.crt" in doc["registry"]["path"]
        assert "ssl_ca_certs=/etc/feast/ca/ca.crt" in doc["online_store"]["connection_string"]
        assert doc["offline_store"]["staging_location_endpoint_override"].startswith("https://")
    else:  # the clouds: the CA bundle ConfigMap (RDS's fetched, the pinned Amazon / Azure roots), never "system"
        assert "sslrootcert=%2Fetc%2Fmlops%2Fdb-ca%2Fpostgres-ca.pem" in doc["registry"]["path"]
        assert "ssl_ca_certs=/etc/mlops/db-ca/redis-ca.pem" in doc["online_store"]["connection_string"]


def test_secret_annotation_states_the_files_tls_settings(any_stack: ServicesPreview) -> None:
    """The gate reads the (masked) file's TLS settings from the Secrets' annotation: it must say what the file does."""
    from urllib.parse import parse_qsl, urlsplit

    doc = yaml.safe_load(any_stack.feature_store_yaml[0])
    fields = dict(f.split("=", 1) for f in doc["online_store"]["connection_string"].split(",")[1:])
    in_file = {
        "registry": dict(parse_qsl(urlsplit(doc["registry"]["path"]).query)),
        "online_store": {k: v for k, v in fields.items() if k.startswith("ssl")},
    }
    secrets = [
        r
        for r in any_stack.of_type("kubernetes:core/v1:Secret")
        if r.inputs["metadata"]["name"] == "feast-feature-store"
    ]
    assert len(secrets) == 2
    for secret in secrets:
        assert json.loads(secret.inputs["metadata"]["annotations"][fsc.TLS_ANNOTATION]) == in_file
    assert in_file["registry"]["sslmode"] == "verify-full"
    assert in_file["online_store"]["ssl_cert_reqs"] == "required"


def test_config_is_a_secret_everywhere_it_is_stored(any_stack: ServicesPreview) -> None:
    """The Secrets holding the file show only "[secret]" in the preview; no password leaks into any input."""
    secrets = [
        r
        for r in any_stack.of_type("kubernetes:core/v1:Secret")
        if r.inputs["metadata"]["name"] == "feast-feature-store"
    ]
    assert {s.inputs["metadata"]["namespace"] for s in secrets} == {"feature-store", "kubeflow"}
    assert all(s.inputs["stringData"] == SECRET_TEXT for s in secrets)
    doc = yaml.safe_load(any_stack.feature_store_yaml[0])
    passwords = [
        doc["online_store"]["connection_string"].split("password=")[1].split(",")[0],
        doc["registry"]["path"].split(":")[2].split("@")[0],
    ]
    everything = json.dumps([r.inputs for r in any_stack.result.resources]) + json.dumps(any_stack.result.outputs)
    for password in passwords:
        assert len(password) >= 16
        assert password not in everything


def test_database_passwords_are_secret_inputs(aws: ServicesPreview, azure: ServicesPreview) -> None:
    rds = aws.one("aws:rds/instance:Instance", "feast-data-registry")
    redis = aws.one("aws:elasticache/replicationGroup:ReplicationGroup", "feast-data-online")
    server = azure.one("azure-native:dbforpostgresql:Server", "feast-data-registry")
    assert rds.inputs["password"] == SECRET_TEXT
    assert redis.inputs["authToken"] == SECRET_TEXT
    assert server.inputs["administratorLoginPassword"] == SECRET_TEXT


def test_renderer_refuses_passwords_feast_would_misread() -> None:
    online = fsc.OnlineRedis(host="h", port=6379, password="short")
    with pytest.raises(ValueError, match="at least 16"):
        online.connection_string()
    registry = fsc.RegistryDatabase(host="h", port=5432, database="d", user="u", password="a" * 20 + ",$x")
    with pytest.raises(ValueError, match="Feast reads"):
        registry.url()


def test_renderer_never_turns_tls_off() -> None:
    registry = fsc.RegistryDatabase(host="db", port=5432, database="feast", user="feast", password="p" * 20)
    assert "sslmode=verify-full" in registry.url()
    online = fsc.OnlineRedis(host="cache", port=6380, password="p" * 20)
    assert online.connection_string().endswith(",ssl=true,ssl_cert_reqs=required,ssl_check_hostname=true")
    with pytest.raises(ValueError, match="not an s3://"):
        fsc.OfflineStore(uri="http://bucket")

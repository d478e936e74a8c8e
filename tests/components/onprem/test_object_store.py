"""OnPremObjectStore: pinned MinIO chart, TLS from cert-manager, encryption at rest, generated secrets that never
appear in plain text, the stack's buckets with the models bucket locked, and network isolation."""

from __future__ import annotations

import base64
import json

import pytest

from components import versions
from components.onprem.object_store import OnPremObjectStore, kms_config_env
from infra.targets.onprem import object_store_args
from policies.preview.model import PreviewResult
from tests.components.kubernetes.helpers import stack_config
from tests.conftest import of_type, one, run_mocked

RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET = "kubernetes:core/v1:Secret"


@pytest.fixture(scope="module")
def result() -> PreviewResult:
    return run_mocked(lambda: OnPremObjectStore("object-store", object_store_args(stack_config())))


@pytest.fixture(scope="module")
def values(result: PreviewResult) -> dict:
    return one(result, RELEASE).inputs["values"]


def test_minio_chart_and_images_are_pinned(result: PreviewResult, values: dict) -> None:
    release = one(result, RELEASE).inputs
    assert (release["chart"], release["version"]) == (versions.MINIO.name, versions.MINIO.version)
    assert release["repositoryOpts"] == {"repo": versions.MINIO.repository}
    assert values["image"] == {"repository": "quay.io/minio/minio", "tag": versions.MINIO_SERVER_IMAGE.tag}
    assert values["mcImage"]["tag"] == versions.MINIO_CLIENT_IMAGE.tag


def test_tls_from_a_cert_manager_certificate(result: PreviewResult, values: dict) -> None:
    assert values["tls"] == {
        "enabled": True,
        "certSecret": "minio-tls",
        "publicCrt": "tls.crt",
        "privateKey": "tls.key",
    }
    cert = one(result, "kubernetes:cert-manager.io/v1:Certificate").inputs
    assert cert["spec"]["secretName"] == "minio-tls"
    assert cert["spec"]["issuerRef"] == {
        "name": "dc1-enterprise-ca",
        "kind": "ClusterIssuer",
        "group": "cert-manager.io",
    }
    assert "minio.object-store.svc.cluster.local" in cert["spec"]["dnsNames"]
    assert "*.minio-svc.object-store.svc.cluster.local" in cert["spec"]["dnsNames"], "servers talk TLS to each other"
    release = one(result, RELEASE)
    cert_urn = one(result, "kubernetes:cert-manager.io/v1:Certificate").urn
    assert cert_urn in release.dependencies, "MinIO must not start before its certificate exists"


def test_personal_data_buckets_expire_and_the_worm_bucket_does_not(values: dict) -> None:
    commands = [c["command"] for c in values["customCommands"]]
    for bucket in ("datasets", "features", "pipeline-artifacts"):
        add = f"ilm rule add --expire-days 365 --noncurrent-expire-days 90 myminio/{bucket}"
        # every rule is removed first, so a re-run upgrade converges on the one rule instead of stacking copies
        assert commands.index(f"ilm rule rm --all --force myminio/{bucket}") == commands.index(add) - 1
    assert not [c for c in commands if c.startswith("ilm") and c.endswith("/models")]
    assert "tag set myminio/models purpose=models" in commands and "tag set myminio/datasets purpose=data" in commands


def test_encryption_at_rest_with_a_generated_key(values: dict) -> None:
    assert values["extraSecret"] == "minio-kms"
    commands = [c["command"] for c in values["customCommands"]]
    for bucket in ("datasets", "features", "models", "pipeline-artifacts"):
        assert f"encrypt set sse-s3 myminio/{bucket}" in commands
    key = base64.b64encode(bytes(range(32))).decode()
    env = kms_config_env(key)
    assert env.splitlines() == [f"export MINIO_KMS_SECRET_KEY=mlops-sse:{key}", "export MINIO_KMS_AUTO_ENCRYPTION=on"]
    with pytest.raises(ValueError, match="32 bytes"):
        kms_config_env(base64.b64encode(b"short").decode())


def test_kms_key_is_256_random_bits_kept_secret(result: PreviewResult) -> None:
    key = one(result, "random:index/randomBytes:RandomBytes")
    assert key.inputs["length"] == 32
    kms = [s for s in of_type(result, SECRET) if s.inputs["metadata"]["name"] == "minio-kms"]
    assert kms[0].inputs["stringData"] == "[secret]"
    assert key.outputs["base64"] not in json.dumps([r.inputs for r in result.resources])


def test_storage_on_the_configured_encrypted_class(values: dict) -> None:
    assert values["persistence"]["enabled"] is True
    assert values["persistence"]["storageClass"] == "encrypted-local"


def test_buckets_versioned_and_models_bucket_locked(values: dict) -> None:
    buckets = {b["name"]: b for b in values["buckets"]}
    assert set(buckets) == {"datasets", "features", "models", "pipeline-artifacts"}
    assert all(b["versioning"] and not b["purge"] and b["policy"] == "none" for b in buckets.values())
    assert buckets["models"]["objectlocking"] is True
    assert not any(b["objectlocking"] for name, b in buckets.items() if name != "models")
    assert "retention set --default COMPLIANCE 2555d myminio/models" in [c["command"] for c in values["customCommands"]]


def test_secrets_are_generated_and_never_plain(result: PreviewResult, values: dict) -> None:
    secrets = {s.inputs["metadata"]["name"]: s.inputs for s in of_type(result, SECRET)}
    assert set(secrets) == {"minio-root", "minio-kms"}
    assert all(s["stringData"] == "[secret]" for s in secrets.values())
    assert values["existingSecret"] == "minio-root"
    assert "rootPassword" not in values and "rootUser" not in values
    assert values["users"] == [] and values["svcaccts"] == [], "the chart's demo console/console123 user is removed"
    dumped = json.dumps([r.inputs for r in result.resources])
    for record in of_type(result, "random:index/randomPassword:RandomPassword"):
        assert record.outputs["result"] not in dumped, f"{record.name} leaked into an input"


def test_network_isolated_with_s3_open_to_platform_namespaces_only(result: PreviewResult, values: dict) -> None:
    ns = one(result, "kubernetes:core/v1:Namespace").inputs["metadata"]
    assert ns["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert ns["labels"]["pod-security.kubernetes.io/warn"] == "restricted"
    policies = {
        p.inputs["metadata"]["name"]: p.inputs["spec"]
        for p in of_type(result, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
    }
    assert policies["default-deny"]["policyTypes"] == ["Ingress", "Egress"]
    (rule,) = policies["allow-s3-from-platform"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 9000}]
    (selector,) = rule["from"][0]["namespaceSelector"]["matchExpressions"]
    assert selector["values"] == ["platform", "team"]
    assert values["ingress"] == {"enabled": False} and values["consoleIngress"] == {"enabled": False}
    assert values["service"]["type"] == "ClusterIP"
    assert values["environment"] == {"MINIO_BROWSER": "off"}


def test_endpoint_is_https_and_buckets_are_s3_uris(result: PreviewResult) -> None:
    component = one(result, "mlops:onprem:OnPremObjectStore")
    assert component.custom is False
    assert not result.unknown_inputs
    args = object_store_args(stack_config())
    assert args.endpoint == "https://minio.object-store.svc.cluster.local:9000"

"""On-prem services under mocks: PostgreSQL and Redis from pinned charts, TLS only with site-CA certificates,
passwords in Secrets (never in Helm values), on the encrypted storage class, reachable from the ML namespaces only."""

from __future__ import annotations

import json

from components import versions
from components.services import onprem as services_onprem
from tests.components.services.conftest import ServicesPreview

RELEASE = "kubernetes:helm.sh/v3:Release"


def test_charts_are_the_pinned_ones(onprem: ServicesPreview) -> None:
    registry = onprem.one(RELEASE, "feast-data-registry").inputs
    online = onprem.one(RELEASE, "feast-data-online").inputs
    assert (registry["chart"], registry["version"]) == (
        f"{versions.POSTGRESQL.repository}/postgresql",
        versions.POSTGRESQL.version,
    )
    assert (online["chart"], online["version"]) == (f"{versions.REDIS.repository}/redis", versions.REDIS.version)


def test_postgres_accepts_tls_only_on_the_encrypted_class(onprem: ServicesPreview) -> None:
    values = onprem.one(RELEASE, "feast-data-registry").inputs["values"]
    assert values["tls"]["enabled"] is True and values["tls"]["certificatesSecret"] == "feast-registry-tls"
    hba = values["primary"]["pgHbaConfiguration"].splitlines()
    assert "hostnossl all all 0.0.0.0/0 reject" in hba
    assert not [line for line in hba if line.startswith("host ")]
    assert values["primary"]["persistence"]["storageClass"] == "encrypted-local"
    assert values["auth"]["existingSecret"] == "feast-registry-db"


def test_redis_serves_tls_with_auth_from_a_secret(onprem: ServicesPreview) -> None:
    values = onprem.one(RELEASE, "feast-data-online").inputs["values"]
    assert values["tls"]["enabled"] is True
    assert values["auth"] == {
        "enabled": True,
        "existingSecret": "feast-online-redis",
        "existingSecretPasswordKey": "redis-password",
    }
    assert values["master"]["persistence"]["storageClass"] == "encrypted-local"


def test_no_secret_material_in_helm_values(onprem: ServicesPreview) -> None:
    for name in ("feast-data-registry", "feast-data-online"):
        text = json.dumps(onprem.one(RELEASE, name).inputs["values"]).lower()
        assert 'password":' not in text.replace("passwordkey", "")
    for secret in ("feast-data-registry", "feast-data-online"):
        assert onprem.one("kubernetes:core/v1:Secret", secret).inputs["stringData"] == "[secret]"


def test_certificates_come_from_the_site_issuer(onprem: ServicesPreview) -> None:
    for name in ("feast-data-registry-tls", "feast-data-online-tls"):
        spec = onprem.one("kubernetes:cert-manager.io/v1:Certificate", name).inputs["spec"]
        assert spec["issuerRef"] == {"name": "dc1-enterprise-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}


def test_databases_admit_only_feature_store_and_pipeline_namespaces(onprem: ServicesPreview) -> None:
    policy = onprem.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "feast-data-registry-clients").inputs
    [rule] = policy["spec"]["ingress"]
    [expression] = rule["from"][0]["namespaceSelector"]["matchExpressions"]
    assert set(expression["values"]) == {"feature-store", "kubeflow", "ml-pipelines", "ml-workspace"}
    assert rule["ports"] == [{"protocol": "TCP", "port": services_onprem.POSTGRES_PORT}]


def test_each_workload_gets_its_own_minio_user_scoped_to_its_buckets(onprem: ServicesPreview) -> None:
    policy = json.loads(services_onprem.minio_policy([("features", "read"), ("models", "write")]))
    resources = [r for s in policy["Statement"] for r in s["Resource"]]
    assert set(resources) == {
        "arn:aws:s3:::features",
        "arn:aws:s3:::models",
        "arn:aws:s3:::features/*",
        "arn:aws:s3:::models/*",
    }
    put = [s for s in policy["Statement"] if "s3:PutObject" in s["Action"]]
    assert [r for s in put for r in s["Resource"]] == ["arn:aws:s3:::models/*"]
    assert not any("Delete" in a or a.endswith("*") for s in policy["Statement"] for a in s["Action"])
    jobs = {r.name: r.inputs for r in onprem.of_type("kubernetes:batch/v1:Job")}
    assert set(jobs) == {
        "feast-feature-server-provision",
        "kfp-pipeline-runner-provision",
        "kfp-ui-provision",
        "kserve-model-server-provision",
    }
    for job in jobs.values():
        pod = job["spec"]["template"]["spec"]
        assert job["metadata"]["namespace"] == "object-store"  # root credentials never leave that namespace
        assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
        assert pod["containers"][0]["image"] == versions.MINIO_CLIENT_IMAGE.reference


def test_workloads_get_their_keys_as_secrets_in_their_namespace(onprem: ServicesPreview) -> None:
    keys = {
        (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): r.inputs["stringData"]
        for r in onprem.of_type("kubernetes:core/v1:Secret")
        if r.name.endswith("-workload-keys")
    }
    assert set(keys) == {
        ("feature-store", "feast-feature-server-object-store"),
        ("kubeflow", "pipeline-runner-object-store"),
        ("kubeflow", "ml-pipeline-ui-object-store"),
        ("ml-serving", "model-serving-object-store"),
    }
    assert set(keys.values()) == {"[secret]"}
    pod = onprem.one("kubernetes:apps/v1:Deployment", "services-feast-server").inputs["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert not [e for e in container["env"] if "valueFrom" in e]  # secrets as files, never in the environment
    credentials = next(v for v in pod["volumes"] if v["name"] == "object-store-credentials")
    assert credentials["secret"]["secretName"] == "feast-feature-server-object-store"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["AWS_SHARED_CREDENTIALS_FILE"] == "/etc/object-store/credentials"
    assert services_onprem.shared_credentials("a", "b").startswith("[default]\naws_access_key_id = a\n")


def test_workload_key_secrets_wait_for_their_namespaces(onprem: ServicesPreview) -> None:
    namespaces = {r.inputs["metadata"]["name"]: r.urn for r in onprem.of_type("kubernetes:core/v1:Namespace")}
    for secret in onprem.of_type("kubernetes:core/v1:Secret"):
        if secret.name.endswith("-workload-keys"):
            target = namespaces[secret.inputs["metadata"]["namespace"]]
            assert target in secret.property_dependencies.get("metadata", []), secret.name

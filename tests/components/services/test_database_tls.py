"""Database and cache clients verify their servers' certificates (issue #13): the connection settings' builders, the
pinned roots, the RDS CA fetch script, and what each stack plans (the bundle, where it is mounted)."""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from components.services import db_tls
from components.services import feature_store_config as fsc
from components.services.feature_server import CA_DIR
from policies.preview.model import UNKNOWN
from tests.components.services.conftest import ServicesPreview

SCRIPT = db_tls.FETCH_SCRIPT
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
COMMAND = "command:local:Command"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


# --- the connection settings' builders ---------------------------------------------------------------------------
def test_registry_url_carries_verify_full_and_the_root_cert() -> None:
    registry = fsc.RegistryDatabase(
        host="db.internal",
        port=5432,
        database="feast",
        user="feast",
        password="p" * 20,
        ssl_root_cert=db_tls.POSTGRES_CA_PATH,
    )
    assert registry.tls_query() == {"sslmode": "verify-full", "sslrootcert": "/etc/mlops/db-ca/postgres-ca.pem"}
    assert registry.url().endswith("?sslmode=verify-full&sslrootcert=%2Fetc%2Fmlops%2Fdb-ca%2Fpostgres-ca.pem")


def test_redis_connection_string_verifies_with_the_ca() -> None:
    online = fsc.OnlineRedis(host="cache.internal", port=6379, password="p" * 20, ca_cert=db_tls.REDIS_CA_PATH)
    assert online.tls_fields() == {
        "ssl": "true",
        "ssl_cert_reqs": "required",
        "ssl_check_hostname": "true",
        "ssl_ca_certs": "/etc/mlops/db-ca/redis-ca.pem",
    }
    assert online.connection_string() == (
        f"cache.internal:6379,password={'p' * 20},ssl=true,ssl_cert_reqs=required,ssl_check_hostname=true,"
        "ssl_ca_certs=/etc/mlops/db-ca/redis-ca.pem"
    )


def test_connection_tls_summary_holds_no_secret() -> None:
    registry = fsc.RegistryDatabase(
        host="h", port=5432, database="d", user="u", password="s" * 20, ssl_root_cert="/ca.pem"
    )
    online = fsc.OnlineRedis(host="h", port=6379, password="t" * 20, ca_cert="/ca.pem")
    summary = fsc.connection_tls(registry, online)
    assert summary == {
        "registry": {"sslmode": "verify-full", "sslrootcert": "/ca.pem"},
        "online_store": {
            "ssl": "true",
            "ssl_cert_reqs": "required",
            "ssl_check_hostname": "true",
            "ssl_ca_certs": "/ca.pem",
        },
    }
    assert "s" * 20 not in str(summary) and "t" * 20 not in str(summary)


# --- pinned roots ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["amazon-roots.pem", "azure-roots.pem"])
def test_pinned_roots_match_their_fingerprints(name: str) -> None:
    text = db_tls.pinned_bundle(name)
    assert text.count("-----BEGIN CERTIFICATE-----") >= 3


def test_pinned_azure_roots_are_the_ones_azure_names() -> None:
    text = db_tls.pinned_bundle("azure-roots.pem")
    for fingerprint in (
        "CB:3C:CB:B7:60:31:E5:E0:13:8F:8D:D3:9A:23:F9:DE:47:FF:C3:5E:43:C1:14:4C:EA:27:D4:6A:5A:B1:CB:5F",  # G2
        "43:48:A0:E9:44:4C:78:CB:26:5E:05:8D:5E:89:44:B4:D8:4F:96:62:BD:26:DB:25:7F:89:34:A4:43:C7:01:61",  # G1
        "C7:41:F7:0F:4B:2A:8D:88:BF:2E:71:C1:41:22:EF:53:EF:10:EB:A0:CF:A5:E6:4C:FA:20:F4:18:85:30:73:E0",  # MS RSA 2017
    ):
        assert f"# sha256: {fingerprint}" in text


def test_a_pinned_file_with_a_wrong_fingerprint_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (db_tls.PINNED_DIR / "amazon-roots.pem").read_text()
    first = text.index("# sha256: ") + len("# sha256: ")
    (tmp_path / "amazon-roots.pem").write_text(
        text[:first] + ("00" if text[first : first + 2] != "00" else "11") + text[first + 2 :]
    )
    (tmp_path / "no-pins.pem").write_text("\n".join(line for line in text.splitlines() if not line.startswith("#")))
    monkeypatch.setattr(db_tls, "PINNED_DIR", tmp_path)
    with pytest.raises(db_tls.PinnedBundleError, match="the file pins"):
        db_tls.pinned_bundle("amazon-roots.pem")
    with pytest.raises(db_tls.PinnedBundleError, match="must follow"):
        db_tls.pinned_bundle("no-pins.pem")


# --- the RDS CA fetch script -------------------------------------------------------------------------------------
def _pem() -> str:
    """Certificates only, as AWS's truststore serves them (the pinned file minus its comments)."""
    text = (db_tls.PINNED_DIR / "amazon-roots.pem").read_text()
    return "\n".join(line for line in text.splitlines() if not line.startswith("#")).strip() + "\n"


def _fetch(url: str, region: str = "me-central-1") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), region],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "RDS_CA_URL": url},
    )


def test_fetch_script_passes_shellcheck() -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (make test installs it)")
    subprocess.run(["shellcheck", str(SCRIPT)], check=True)


def test_fetch_prints_a_pem_bundle_from_a_file(tmp_path: Path) -> None:
    bundle = tmp_path / "me-central-1-bundle.pem"
    bundle.write_text(_pem())
    done = _fetch(bundle.as_uri())
    assert done.returncode == 0, done.stderr
    assert done.stdout == _pem()


@pytest.fixture
def http_root(tmp_path: Path):
    """A loopback HTTP server serving ``tmp_path``."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_over_http_and_its_refusals(http_root) -> None:
    root, base = http_root
    (root / "good.pem").write_text(_pem())
    (root / "error.html").write_text("<html><body>Access denied</body></html>\n")
    broken = _pem().splitlines()
    broken[3] = "A" * len(broken[3])  # a block that is base64 but not a certificate
    (root / "broken.pem").write_text("\n".join(broken) + "\n")
    (root / "key.pem").write_text(_pem() + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    (root / "empty.pem").write_text("")

    good = _fetch(f"{base}/good.pem")
    assert good.returncode == 0, good.stderr
    assert good.stdout.count("-----BEGIN CERTIFICATE-----") == 5
    for name, reason in (
        ("error.html", "PEM certificates only"),
        ("broken.pem", "not an X.509 certificate"),
        ("key.pem", "PEM certificates only"),
        ("empty.pem", "PEM certificates only"),
        ("missing.pem", "could not download"),
    ):
        done = _fetch(f"{base}/{name}")
        assert done.returncode != 0 and done.stdout == "", name
        assert reason in done.stderr, (name, done.stderr)


@pytest.mark.parametrize("region", ["", "me-central-1; curl evil", "../x", "ME-CENTRAL-1"])
def test_fetch_refuses_a_region_that_is_not_one(region: str, tmp_path: Path) -> None:
    done = _fetch((tmp_path / "x.pem").as_uri(), region)
    assert done.returncode == 2 and "not an AWS region name" in done.stderr


def test_the_default_url_is_the_regional_https_truststore() -> None:
    text = SCRIPT.read_text()
    assert "https://truststore.pki.rds.amazonaws.com/${region}/${region}-bundle.pem" in text
    assert "--proto '=https'" in text


# --- what the stacks plan ----------------------------------------------------------------------------------------
def test_aws_fetches_the_rds_bundle_at_deploy_time(aws: ServicesPreview) -> None:
    command = aws.one(COMMAND, "services-rds-ca")
    assert command.inputs["create"] == SCRIPT.read_text()
    assert command.inputs["interpreter"] == ["/bin/bash", "-c"]
    assert command.inputs["environment"] == {"RDS_REGION": "me-central-1"}
    assert command.outputs["stdout"] == UNKNOWN  # a preview runs no command
    for namespace in ("feature-store", "kubeflow"):
        bundle = next(
            c
            for c in aws.of_type(CONFIG_MAP)
            if c.inputs["metadata"]["name"] == db_tls.CONFIG_MAP and c.inputs["metadata"]["namespace"] == namespace
        )
        assert bundle.inputs["metadata"]["labels"][db_tls.LABEL] == "database"
        assert bundle.inputs["data"][db_tls.POSTGRES_CA] == UNKNOWN
        assert bundle.property_dependencies["data"] == [command.urn]
        assert bundle.inputs["data"][db_tls.REDIS_CA] == db_tls.pinned_bundle("amazon-roots.pem")


def test_azure_pins_the_digicert_and_microsoft_roots(azure: ServicesPreview) -> None:
    assert not azure.of_type(COMMAND)
    bundles = [c for c in azure.of_type(CONFIG_MAP) if c.inputs["metadata"]["name"] == db_tls.CONFIG_MAP]
    assert {b.inputs["metadata"]["namespace"] for b in bundles} == {"feature-store", "kubeflow"}
    roots = db_tls.pinned_bundle("azure-roots.pem")
    assert all(b.inputs["data"] == {db_tls.POSTGRES_CA: roots, db_tls.REDIS_CA: roots} for b in bundles)


def test_onprem_keeps_the_issuers_ca(onprem: ServicesPreview) -> None:
    assert not [c for c in onprem.of_type(CONFIG_MAP) if c.inputs["metadata"]["name"] == db_tls.CONFIG_MAP]
    pod = onprem.one(DEPLOYMENT, "services-feast-server").inputs["spec"]["template"]["spec"]
    mounts = pod["containers"][0]["volumeMounts"]
    assert {"name": "ca", "mountPath": CA_DIR, "readOnly": True} in mounts


@pytest.mark.parametrize("stack", ["aws", "azure"])
def test_feature_server_mounts_the_bundle_but_keeps_the_sdks_trust_store(
    stack: str, request: pytest.FixtureRequest
) -> None:
    preview: ServicesPreview = request.getfixturevalue(stack)
    pod = preview.one(DEPLOYMENT, "services-feast-server").inputs["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert {"name": "db-ca", "mountPath": db_tls.MOUNT_DIR, "readOnly": True} in container["volumeMounts"]
    assert {"name": "db-ca", "configMap": {"name": db_tls.CONFIG_MAP, "defaultMode": 0o444}} in pod["volumes"]
    # the RDS bundle must not become the AWS SDK's bundle: S3 is verified against the system roots
    assert "AWS_CA_BUNDLE" not in {e["name"] for e in container["env"]}

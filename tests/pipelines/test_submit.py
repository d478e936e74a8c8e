"""``mlops pipeline submit`` against a local KFP v2beta1 API server (auth, multipart uploads, filters, injected
transient failures, and TLS with a certificate made in the test)."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from pipelines.submit import (
    EXIT_AUTH,
    EXIT_NOT_FOUND,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    KfpClient,
    SubmitError,
    endpoint_from_stack,
    pipeline_parameters,
    resolve_token,
    submit,
)

TOKEN = "s3cr3t-token"
PACKAGE_TEXT = yaml.safe_dump(
    {
        "pipelineInfo": {"name": "train-validate-deploy"},
        "schemaVersion": "2.1.0",
        "root": {
            "dag": {"tasks": {}},
            "inputDefinitions": {
                "parameters": {
                    "git_commit": {"defaultValue": "", "parameterType": "STRING"},
                    "model_store_uri": {"defaultValue": "", "parameterType": "STRING"},
                    "max_epochs": {"defaultValue": 20.0, "parameterType": "NUMBER_INTEGER"},
                    "gpus_per_node": {"defaultValue": 1.0, "parameterType": "NUMBER_INTEGER"},
                }
            },
        },
    }
)


class KfpApi:
    """State and behaviour of the KFP v2beta1 endpoints ``submit`` uses."""

    def __init__(self):
        self.pipelines: dict[str, dict] = {}
        self.versions: dict[str, list[dict]] = {}
        self.experiments: dict[str, dict] = {}
        self.runs: list[dict] = []
        self.recurring: list[dict] = []
        self.faults: list = []  # next responses: an int status, (status, headers), or "drop" (close the socket)
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    @staticmethod
    def _matches(item: dict, filter_json: str | None) -> bool:
        if not filter_json:
            return True
        for p in json.loads(filter_json)["predicates"]:
            assert p["operation"] == "EQUALS" and p["key"] == "display_name", p
            if item["display_name"] != p["string_value"]:
                return False
        return True

    def handle(self, method: str, url, headers, body: bytes) -> tuple[int, dict, dict]:
        with self.lock:
            self.requests.append((method, url.path))
            if self.faults:
                fault = self.faults.pop(0)
                status, extra = (fault, {}) if isinstance(fault, (int, str)) else fault
                return status, {"error": "injected", "code": 14}, extra
        auth = headers.get("Authorization", "")
        if auth != f"Bearer {TOKEN}":
            return (403 if auth == "Bearer readonly" else 401), {"error": "Unauthenticated", "code": 16}, {}
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = url.path.removeprefix("/apis/v2beta1")
        now = datetime.datetime.now(datetime.UTC).isoformat()
        if method == "GET" and path == "/pipelines":
            found = [p for p in self.pipelines.values() if self._matches(p, q.get("filter"))]
            return 200, ({"pipelines": found, "total_size": len(found)} if found else {}), {}
        if method == "POST" and path in ("/pipelines/upload", "/pipelines/upload_version"):
            package = _multipart_file(headers, body, "uploadfile")
            if package is None:
                return 400, {"error": "missing uploadfile"}, {}
            spec = next(yaml.safe_load_all(package), None) or {}  # a pipeline spec, then its platform spec
            if "pipelineInfo" not in spec:
                return 400, {"error": "invalid pipeline spec"}, {}
            if path == "/pipelines/upload":
                if any(p["display_name"] == q["name"] for p in self.pipelines.values()):
                    return 409, {"error": "AlreadyExists"}, {}
                pid = str(uuid.uuid4())
                self.pipelines[pid] = {
                    "pipeline_id": pid,
                    "display_name": q["name"],
                    "created_at": now,
                    "description": q.get("description", ""),
                }
                self.versions[pid] = [
                    {
                        "pipeline_id": pid,
                        "pipeline_version_id": str(uuid.uuid4()),
                        "display_name": q["name"],
                        "created_at": now,
                        "spec": spec,
                    }
                ]
                return 200, self.pipelines[pid], {}
            pid = q.get("pipelineid")
            if pid not in self.pipelines:
                return 404, {"error": f"pipeline {pid} not found"}, {}
            if any(v["display_name"] == q["name"] for v in self.versions[pid]):
                return 409, {"error": "AlreadyExists"}, {}
            version = {
                "pipeline_id": pid,
                "pipeline_version_id": str(uuid.uuid4()),
                "display_name": q["name"],
                "description": q.get("description", ""),
                "created_at": now,
                "spec": spec,
            }
            self.versions[pid].append(version)
            return 200, version, {}
        if method == "GET" and path.startswith("/pipelines/") and path.endswith("/versions"):
            pid = path.split("/")[2]
            if pid not in self.versions:
                return 404, {"error": "not found"}, {}
            assert q.get("sort_by") == "created_at desc"
            versions = list(reversed(self.versions[pid]))[: int(q.get("page_size", 100))]
            return 200, {"pipeline_versions": versions, "total_size": len(self.versions[pid])}, {}
        if path == "/experiments":
            if method == "GET":
                found = [e for e in self.experiments.values() if self._matches(e, q.get("filter"))]
                return 200, ({"experiments": found} if found else {}), {}
            payload = json.loads(body)
            eid = str(uuid.uuid4())
            self.experiments[eid] = {"experiment_id": eid, "display_name": payload["display_name"]}
            return 200, self.experiments[eid], {}
        if method == "POST" and path in ("/runs", "/recurringruns"):
            payload = json.loads(body)
            ref = payload["pipeline_version_reference"]
            if not any(
                v["pipeline_version_id"] == ref["pipeline_version_id"]
                for v in self.versions.get(ref["pipeline_id"], [])
            ):
                return 404, {"error": "pipeline version not found"}, {}
            if payload.get("experiment_id") not in self.experiments:
                return 404, {"error": "experiment not found"}, {}
            key = "run_id" if path == "/runs" else "recurring_run_id"
            record = {**payload, key: str(uuid.uuid4()), "state": "PENDING"}
            (self.runs if path == "/runs" else self.recurring).append(record)
            return 200, record, {}
        return 404, {"error": f"no route {method} {url.path}"}, {}


def _multipart_file(headers, body: bytes, field: str) -> bytes | None:
    import email.parser
    import email.policy

    ctype = headers.get("Content-Type", "")
    if not ctype.startswith("multipart/form-data"):
        return None
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {ctype}\r\n\r\n".encode() + body
    )
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == field:
            return part.get_payload(decode=True)
    return None


def _serve(api: KfpApi, tls_context: ssl.SSLContext | None = None):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _handle(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, payload, extra = api.handle(self.command, urlparse(self.path), self.headers, body)
            if status == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            data = json.dumps(payload).encode()
            self.send_response(status)
            for k, v in {"Content-Type": "application/json", "Content-Length": str(len(data)), **extra}.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls_context is not None:
        server.socket = tls_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def api():
    state = KfpApi()
    server, _ = _serve(state)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def package(tmp_path):
    path = tmp_path / "train_validate_deploy.yaml"
    path.write_text(PACKAGE_TEXT)
    return path


def _client(url, token=TOKEN, **kw):
    delays = []
    client = KfpClient(url, token=token, sleep=delays.append, **kw)
    client.delays = delays
    return client


def test_first_submit_creates_pipeline_and_experiment_then_new_versions(api, package):
    client = _client(api.url)
    first = submit(client, package, "train-validate-deploy", "credit-risk", {"git_commit": "abc"}, "abc-1")
    assert first.created_pipeline and first.url == f"{api.url}/#/runs/details/{first.run_id}"
    second = submit(client, package, "train-validate-deploy", "credit-risk", {"git_commit": "def"}, "def-2")
    assert not second.created_pipeline and second.pipeline_id == first.pipeline_id
    assert second.version_id != first.version_id and second.version_name == "def-2"
    assert len(api.pipelines) == 1 and len(api.experiments) == 1, "pipeline and experiment found by name, not re-made"
    assert [r["runtime_config"]["parameters"]["git_commit"] for r in api.runs] == ["abc", "def"]
    assert api.runs[1]["pipeline_version_reference"]["pipeline_version_id"] == second.version_id
    with pytest.raises(SubmitError, match="409"):
        submit(client, package, "train-validate-deploy", "credit-risk", {}, "def-2")


def test_recurring_run_and_parameter_checks(api, package):
    client = _client(api.url)
    job = submit(client, package, "monitor", "monitoring", {}, "v1", cron="0 0 * * * *")
    assert job.url.endswith(f"/#/recurringrun/details/{job.run_id}")
    assert api.recurring[0]["trigger"] == {"cron_schedule": {"cron": "0 0 * * * *"}}
    with pytest.raises(SubmitError, match="unknown pipeline parameters") as err:
        submit(client, package, "p", "e", {"max_epoch": 3}, "v1")
    assert err.value.exit_code == EXIT_USAGE
    assert pipeline_parameters(package) == {
        "git_commit": "",
        "model_store_uri": "",
        "max_epochs": 20.0,
        "gpus_per_node": 1.0,
    }


def test_transient_failures_are_retried_with_backoff_and_retry_after(api, package):
    api.faults = [503, (429, {"Retry-After": "7"}), "drop", 502, 504]
    client = _client(api.url, retries=5, backoff=0.5)
    assert submit(client, package, "p", "e", {}, "v1").run_id
    assert client.delays[1] == 7.0, "429 waits as long as Retry-After says"
    others = [d for i, d in enumerate(client.delays) if i != 1]
    assert all(0.5 * 2**i <= d <= 0.5 * 2**i * 1.25 for i, d in zip((0, 2, 3, 4), others)), client.delays
    api.faults = [503] * 3
    with pytest.raises(SubmitError, match="503") as err:
        _client(api.url, retries=2).find_pipeline("p")
    assert err.value.exit_code == 6


@pytest.mark.parametrize(
    ("token", "code", "message"),
    [
        (None, EXIT_AUTH, "rejected the credentials"),
        ("wrong", EXIT_AUTH, "rejected the credentials"),
        ("readonly", EXIT_AUTH, "refused the request"),
    ],
)
def test_auth_failures_are_explained(api, package, token, code, message):
    with pytest.raises(SubmitError, match=message) as err:
        submit(_client(api.url, token=token), package, "p", "e", {}, "v1")
    assert err.value.exit_code == code
    assert api.requests and len(api.requests) == 1, "no retries on 401/403"


def test_not_found_and_unreachable_hosts_are_explained(api, package):
    with pytest.raises(SubmitError, match="is .* the KFP API endpoint") as err:
        _client(api.url + "/wrong-prefix").find_pipeline("p")
    assert err.value.exit_code == EXIT_NOT_FOUND
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    client = _client(f"http://127.0.0.1:{closed_port}", retries=2)
    with pytest.raises(SubmitError, match="cannot reach .* after 3 attempts") as err:
        client.find_pipeline("p")
    assert err.value.exit_code == EXIT_UNREACHABLE and len(client.delays) == 2


def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kfp.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return tmp_path / "cert.pem", tmp_path / "key.pem"


def test_tls_is_verified_and_a_private_ca_bundle_is_honoured(tmp_path, package):
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    state = KfpApi()
    server, _ = _serve(state, context)
    url = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        with pytest.raises(SubmitError, match="TLS verification .* failed .*--ca-bundle") as err:
            _client(url).find_pipeline("p")
        assert err.value.exit_code == EXIT_UNREACHABLE
        assert submit(_client(url, ca_bundle=cert), package, "p", "e", {}, "v1").run_id
        warnings = []
        insecure = _client(url, insecure_skip_tls_verify=True, warn=warnings.append)
        assert insecure.find_pipeline("p") and "verification is OFF" in warnings[0]
    finally:
        server.shutdown()
        server.server_close()


def test_tokens_and_stack_endpoints_are_resolved_in_order(tmp_path, monkeypatch):
    monkeypatch.delenv("MLOPS_KFP_TOKEN", raising=False)
    sa = tmp_path / "sa-token"
    assert resolve_token(service_account_token=sa) == (None, "none")
    sa.write_text("sa\n")
    assert resolve_token(service_account_token=sa) == ("sa", "service account token")
    monkeypatch.setenv("MLOPS_KFP_TOKEN", "env")
    assert resolve_token(service_account_token=sa)[0] == "env"
    (tmp_path / "oidc").write_text("id-token")
    oidc = resolve_token(oidc_token_file=tmp_path / "oidc", service_account_token=sa)
    assert oidc == ("id-token", "--oidc-token-file")
    (tmp_path / "empty").write_text("")
    with pytest.raises(SubmitError, match="is empty"):
        resolve_token(token_file=tmp_path / "empty")

    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"kfp_endpoint": "https://kfp.internal.example", "cluster_name": "c"}))
    assert endpoint_from_stack("aws-uae-prod", outputs) == "https://kfp.internal.example"
    outputs.write_text(json.dumps({"cluster_name": "c"}))
    with pytest.raises(SubmitError, match="no kfp_endpoint"):
        endpoint_from_stack("aws-uae-prod", outputs)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SubmitError, match="--stack-outputs FILE .* or install the Pulumi CLI"):
        endpoint_from_stack("aws-uae-prod")


def test_the_pulumi_cli_is_asked_for_the_stack_outputs_when_installed(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    cli = bin_dir / "pulumi"
    cli.write_text(
        '#!/bin/sh\necho "$@" > "$(dirname "$0")/args"\necho \'{"kfp_endpoint": "https://kfp.onprem.example"}\'\n'
    )
    cli.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    assert endpoint_from_stack("onprem-dc1") == "https://kfp.onprem.example"
    assert (bin_dir / "args").read_text().split() == ["stack", "output", "--json", "--stack", "onprem-dc1"]
    cli.write_text("#!/bin/sh\necho 'error: no stack named onprem-dc9' >&2\nexit 255\n")
    with pytest.raises(SubmitError, match="no stack named onprem-dc9"):
        endpoint_from_stack("onprem-dc9")


def test_the_retraining_trigger_passes_its_parameters_and_the_uploaded_commit(api, package):
    from pipelines.submit import trigger_run

    client = _client(api.url)
    submit(client, package, "train-validate-deploy", "credit-risk", {"git_commit": "abc123def"}, "abc-1")
    params = {"train_start": "2025-01-01", "train_end": "2026-07-01", "seed": 7, "model_store_uri": "s3://m"}
    trigger_run(client, "train-validate-deploy", "credit-risk", params, "retrain")
    assert api.runs[-1]["runtime_config"]["parameters"] == {**params, "git_commit": "abc123def"}, (
        "a first upload's commit, from the pipeline's description"
    )
    submit(client, package, "train-validate-deploy", "credit-risk", {"git_commit": "fed456"}, "fed-2")
    run = trigger_run(client, "train-validate-deploy", "credit-risk", params, "retrain")
    sent = api.runs[-1]["runtime_config"]["parameters"]
    assert sent == {**params, "git_commit": "fed456"}, "the commit of the code the run executes, from the version"
    assert run.run_id == api.runs[-1]["run_id"]
    trigger_run(client, "train-validate-deploy", "credit-risk", {**params, "git_commit": "given"}, "retrain")
    assert api.runs[-1]["runtime_config"]["parameters"]["git_commit"] == "given"
    with pytest.raises(SubmitError, match="no pipeline named 'other'") as err:
        trigger_run(client, "other", "credit-risk", params, "retrain")
    assert err.value.exit_code == EXIT_NOT_FOUND

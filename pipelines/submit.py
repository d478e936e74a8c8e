"""``mlops pipeline submit``: upload the compiled pipeline as a new version and start a run on a stack's KFP endpoint.

Talks to the KFP v2beta1 REST API with ``requests`` rather than ``kfp.Client``: one dependency-light client where
this project controls what a platform needs and ``kfp.Client`` does not offer together: bearer tokens from a file,
the environment or the pod's service account; a private CA bundle with verification always on; retries with
exponential backoff that honour ``Retry-After``; and a plain message plus a documented exit code for each failure.
The same client creates recurring runs (the monitor's schedule) and, from inside the cluster, the retraining run.

Exit codes (also in docs/pipelines-deploy.md):
  0 submitted - 2 bad input (file, flags, no endpoint) - 3 authentication or authorization refused (401/403)
  4 not found (404: wrong host path, pipeline or experiment) - 5 host unreachable or TLS verification failed
  6 the API kept failing (5xx/429 after retries) or answered something unexpected
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

API = "/apis/v2beta1"
ENV_TOKEN = "MLOPS_KFP_TOKEN"
SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
TRANSIENT_STATUS = (429, 502, 503, 504)
EXIT_OK, EXIT_USAGE, EXIT_AUTH, EXIT_NOT_FOUND, EXIT_UNREACHABLE, EXIT_API = 0, 2, 3, 4, 5, 6
MAX_RETRY_AFTER = 60.0
COMMIT_PREFIX = "git_commit="
"""Uploaded pipeline versions carry ``git_commit=<sha>`` as their description: the retraining trigger reads it."""


class SubmitError(Exception):
    """A failure with the message to print and the exit code to return."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


# --- where and who --------------------------------------------------------------------------------------------------


def endpoint_from_stack(stack: str, outputs_file: Path | None = None, repo_root: Path | None = None) -> str:
    """The stack's ``kfp_endpoint`` output: from a ``pulumi stack output --json`` file, else the Pulumi CLI."""
    return stack_outputs(stack, outputs_file, repo_root)[0]


def stack_outputs(stack: str, outputs_file: Path | None = None, repo_root: Path | None = None) -> tuple[str, dict]:
    """(``kfp_endpoint``, all outputs) of a stack: from a ``pulumi stack output --json`` file, else the Pulumi CLI."""
    import shutil

    if outputs_file is not None:
        try:
            outputs = json.loads(Path(outputs_file).read_text())
        except OSError as exc:
            raise SubmitError(f"--stack-outputs {outputs_file}: cannot read: {exc.strerror}", EXIT_USAGE) from None
        except json.JSONDecodeError as exc:
            raise SubmitError(
                f"--stack-outputs {outputs_file}: not JSON ({exc}); write it with "
                f"`pulumi stack output --json --stack {stack} > FILE`",
                EXIT_USAGE,
            ) from None
        source = str(outputs_file)
    elif shutil.which("pulumi"):
        proc = subprocess.run(
            ["pulumi", "stack", "output", "--json", "--stack", stack],
            capture_output=True,
            text=True,
            cwd=repo_root,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0:
            raise SubmitError(f"`pulumi stack output --stack {stack}` failed: {proc.stderr.strip()}", EXIT_USAGE)
        source = f"pulumi stack {stack}"
        try:
            outputs = json.loads(proc.stdout or "{}")
        except json.JSONDecodeError:
            raise SubmitError(f"`pulumi stack output --json --stack {stack}` did not print JSON", EXIT_USAGE) from None
    else:
        raise SubmitError(
            f"cannot find stack {stack!r}'s kfp_endpoint: pass --stack-outputs FILE (from `pulumi stack "
            "output --json`) or install the Pulumi CLI; or give the endpoint with --host URL",
            EXIT_USAGE,
        )
    endpoint = outputs.get("kfp_endpoint") if isinstance(outputs, dict) else None
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        names = sorted(outputs) if isinstance(outputs, dict) else outputs
        raise SubmitError(f"{source} has no kfp_endpoint URL (outputs: {names})", EXIT_USAGE)
    return endpoint, outputs


def models_bucket(outputs: dict) -> str | None:
    """The stack's ``models`` bucket URI (output ``buckets``): where the deploy step publishes model versions."""
    buckets = outputs.get("buckets")
    uri = buckets.get("models") if isinstance(buckets, dict) else None
    return uri if isinstance(uri, str) and uri else None


def gpus_per_node(outputs: dict) -> int | None:
    """GPUs per training node the stack's GPU pools offer (output ``training_gpus_per_node``), if it has any."""
    count = outputs.get("training_gpus_per_node")
    return count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else None


def requires_approval(outputs: dict) -> bool:
    """Whether the stack's admission policy admits only signed-off versions (output ``release_requires_approval``)."""
    return outputs.get("release_requires_approval") is True


def resolve_token(
    token_file: Path | None = None,
    oidc_token_file: Path | None = None,
    service_account_token: Path = SERVICE_ACCOUNT_TOKEN,
) -> tuple[str | None, str]:
    """(bearer token, where it came from): --token-file, --oidc-token-file, $MLOPS_KFP_TOKEN, the pod's service account
    token, in that order. No token is allowed (an endpoint behind a network boundary only) and said so."""
    for flag, path in (("--token-file", token_file), ("--oidc-token-file", oidc_token_file)):
        if path is not None:
            try:
                token = Path(path).read_text().strip()
            except OSError as exc:
                raise SubmitError(f"{flag} {path}: cannot read: {exc.strerror}", EXIT_USAGE) from None
            if not token:
                raise SubmitError(f"{flag} {path} is empty", EXIT_USAGE)
            return token, flag
    if os.environ.get(ENV_TOKEN, "").strip():
        return os.environ[ENV_TOKEN].strip(), f"${ENV_TOKEN}"
    if service_account_token.is_file():
        return service_account_token.read_text().strip(), "service account token"
    return None, "none"


# --- the client -----------------------------------------------------------------------------------------------------


class KfpClient:
    """The v2beta1 calls this project makes, with auth, TLS verification, retries and readable failures."""

    def __init__(
        self,
        host: str,
        token: str | None = None,
        ca_bundle: Path | str | None = None,
        insecure_skip_tls_verify: bool = False,
        retries: int = 5,
        backoff: float = 0.5,
        timeout: float = 30.0,
        sleep=time.sleep,
        warn=None,
    ):
        import requests

        if not host.startswith(("https://", "http://")):
            raise SubmitError(
                f"host {host!r} must start with https:// (or http:// inside a trusted network)", EXIT_USAGE
            )
        if ca_bundle is not None and not Path(ca_bundle).is_file():
            raise SubmitError(f"--ca-bundle {ca_bundle} does not exist", EXIT_USAGE)
        self.host = host.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.verify: bool | str = str(ca_bundle) if ca_bundle else True
        if insecure_skip_tls_verify:
            self.verify = False
            (warn or print)(
                "WARNING: TLS certificate verification is OFF (--insecure-skip-tls-verify): the endpoint's "
                "identity is not checked and the token can be stolen. Use --ca-bundle instead."
            )
        self.retries, self.backoff, self.timeout, self.sleep = retries, backoff, timeout, sleep

    def request(self, method: str, path: str, **kwargs) -> dict:
        import requests

        url = f"{self.host}{API}{path}"
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self.session.request(method, url, timeout=self.timeout, verify=self.verify, **kwargs)
            except requests.exceptions.SSLError as exc:
                raise SubmitError(
                    f"TLS verification of {self.host} failed ({_reason(exc)}); if it uses a private CA, "
                    "pass --ca-bundle CA.pem",
                    EXIT_UNREACHABLE,
                ) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                if last:
                    raise SubmitError(
                        f"cannot reach {self.host} after {self.retries + 1} attempts ({_reason(exc)}); "
                        "check the URL, VPN/network path and that the KFP API is up",
                        EXIT_UNREACHABLE,
                    ) from None
                self.sleep(self._delay(attempt))
                continue
            if response.status_code in TRANSIENT_STATUS and not last:
                self.sleep(self._delay(attempt, response.headers.get("Retry-After")))
                continue
            return self._result(method, path, response)
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after:
            try:
                return min(MAX_RETRY_AFTER, max(0.0, float(retry_after)))
            except ValueError:
                try:
                    return min(MAX_RETRY_AFTER, max(0.0, parsedate_to_datetime(retry_after).timestamp() - time.time()))
                except (TypeError, ValueError):
                    pass
        return self.backoff * (2**attempt) * (1 + random.random() * 0.25)

    def _result(self, method: str, path: str, response) -> dict:
        status = response.status_code
        detail = _detail(response)
        if status in (401, 403):
            what = "rejected the credentials" if status == 401 else "refused the request for this identity"
            hint = (
                "pass a valid bearer token (--token-file, --oidc-token-file or $MLOPS_KFP_TOKEN)"
                if status == 401
                else "ask for the KFP access role in this namespace"
            )
            raise SubmitError(f"{self.host} {what} ({status} on {method} {API}{path}: {detail}); {hint}", EXIT_AUTH)
        if status == 404:
            raise SubmitError(
                f"not found: {method} {API}{path} ({detail}); is {self.host} the KFP API endpoint?", EXIT_NOT_FOUND
            )
        if status >= 400:
            code = EXIT_API if status >= 500 or status == 429 else EXIT_USAGE
            raise SubmitError(f"{method} {API}{path} failed with {status}: {detail}", code)
        try:
            return response.json() if response.content else {}
        except ValueError:
            raise SubmitError(
                f"{method} {API}{path}: the answer is not JSON (is {self.host} the KFP API?)", EXIT_API
            ) from None

    # --- v2beta1 resources ------------------------------------------------------------------------------------------
    def find_pipeline(self, name: str) -> dict | None:
        found = self.request("GET", "/pipelines", params={"filter": _name_filter(name), "page_size": 1})
        return (found.get("pipelines") or [None])[0]

    def upload_pipeline(self, name: str, package: Path, description: str = "") -> dict:
        with open(package, "rb") as fh:
            return self.request(
                "POST",
                "/pipelines/upload",
                params={"name": name, "description": description},
                files={"uploadfile": (package.name, fh, "application/x-yaml")},
            )

    def upload_version(self, pipeline_id: str, version: str, package: Path, description: str = "") -> dict:
        with open(package, "rb") as fh:
            return self.request(
                "POST",
                "/pipelines/upload_version",
                params={"pipelineid": pipeline_id, "name": version, "description": description},
                files={"uploadfile": (package.name, fh, "application/x-yaml")},
            )

    def latest_version(self, pipeline_id: str) -> dict:
        found = self.request(
            "GET", f"/pipelines/{pipeline_id}/versions", params={"sort_by": "created_at desc", "page_size": 1}
        )
        versions = found.get("pipeline_versions") or []
        if not versions:
            raise SubmitError(f"pipeline {pipeline_id} has no versions", EXIT_NOT_FOUND)
        return versions[0]

    def experiment(self, name: str) -> dict:
        """The experiment named ``name``, created when missing."""
        found = self.request("GET", "/experiments", params={"filter": _name_filter(name), "page_size": 1})
        existing = (found.get("experiments") or [None])[0]
        return existing or self.request("POST", "/experiments", json={"display_name": name})

    def create_run(self, name: str, experiment_id: str, pipeline_id: str, version_id: str, parameters: dict) -> dict:
        return self.request(
            "POST",
            "/runs",
            json={
                "display_name": name,
                "experiment_id": experiment_id,
                "pipeline_version_reference": {"pipeline_id": pipeline_id, "pipeline_version_id": version_id},
                "runtime_config": {"parameters": parameters},
            },
        )

    def create_recurring_run(
        self, name: str, experiment_id: str, pipeline_id: str, version_id: str, cron: str, parameters: dict
    ) -> dict:
        return self.request(
            "POST",
            "/recurringruns",
            json={
                "display_name": name,
                "experiment_id": experiment_id,
                "mode": "ENABLE",
                "max_concurrency": "1",
                "no_catchup": True,
                "trigger": {"cron_schedule": {"cron": cron}},
                "pipeline_version_reference": {"pipeline_id": pipeline_id, "pipeline_version_id": version_id},
                "runtime_config": {"parameters": parameters},
            },
        )


def _name_filter(name: str) -> str:
    return json.dumps({"predicates": [{"key": "display_name", "operation": "EQUALS", "string_value": name}]})


def _detail(response) -> str:
    try:
        body = response.json()
        return str(body.get("error") or body.get("message") or body)[:300]
    except ValueError:
        return (response.text or response.reason or "").strip()[:300]


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("CERTIFICATE_VERIFY_FAILED", "Connection refused", "Name or service not known", "timed out"):
        if marker in text:
            return marker
    return type(exc).__name__


# --- submit ---------------------------------------------------------------------------------------------------------


@dataclass
class Submitted:
    run_id: str
    url: str
    pipeline_id: str
    version_id: str
    version_name: str
    experiment_id: str
    created_pipeline: bool


def pipeline_parameters(package: Path) -> dict:
    """The root inputs of a compiled pipeline: name -> default (or None when it has none)."""
    import yaml

    try:
        docs = list(yaml.safe_load_all(Path(package).read_text()))
    except OSError as exc:
        raise SubmitError(
            f"{package}: cannot read: {exc.strerror}; run `mlops pipeline compile` first", EXIT_USAGE
        ) from None
    except yaml.YAMLError as exc:
        raise SubmitError(f"{package}: not YAML ({exc})", EXIT_USAGE) from None
    spec = docs[0] if docs and isinstance(docs[0], dict) else {}
    if "pipelineInfo" not in spec or "root" not in spec:
        raise SubmitError(f"{package} is not a compiled KFP pipeline (no pipelineInfo/root)", EXIT_USAGE)
    params = spec["root"].get("inputDefinitions", {}).get("parameters", {})
    return {name: p.get("defaultValue") for name, p in params.items()}


def submit(
    client: KfpClient,
    package: Path,
    pipeline_name: str,
    experiment: str,
    parameters: dict,
    version_name: str,
    run_name: str | None = None,
    cron: str | None = None,
) -> Submitted:
    """Upload ``package`` as version ``version_name`` (creating the pipeline on first upload), then start a run in
    ``experiment`` (created if missing), or with ``cron`` a recurring run."""
    known = pipeline_parameters(package)
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise SubmitError(f"unknown pipeline parameters {unknown}; the pipeline takes {sorted(known)}", EXIT_USAGE)
    missing = sorted(k for k, default in known.items() if default is None and k not in parameters)
    if missing:
        raise SubmitError(f"the pipeline needs values for {missing}: pass --param NAME=VALUE", EXIT_USAGE)
    description = f"{COMMIT_PREFIX}{parameters['git_commit']}" if parameters.get("git_commit") else ""
    pipeline = client.find_pipeline(pipeline_name)
    created = pipeline is None
    if pipeline is None:
        pipeline = client.upload_pipeline(pipeline_name, package, description)
        version = client.latest_version(pipeline["pipeline_id"])
    else:
        version = client.upload_version(pipeline["pipeline_id"], version_name, package, description)
    exp = client.experiment(experiment)
    name = run_name or f"{pipeline_name} {version.get('display_name', version_name)}"
    if cron:
        job = client.create_recurring_run(
            name, exp["experiment_id"], pipeline["pipeline_id"], version["pipeline_version_id"], cron, parameters
        )
        run_id, url = job["recurring_run_id"], f"{client.host}/#/recurringrun/details/{job['recurring_run_id']}"
    else:
        run = client.create_run(
            name, exp["experiment_id"], pipeline["pipeline_id"], version["pipeline_version_id"], parameters
        )
        run_id, url = run["run_id"], f"{client.host}/#/runs/details/{run['run_id']}"
    return Submitted(
        run_id,
        url,
        pipeline["pipeline_id"],
        version["pipeline_version_id"],
        version.get("display_name", version_name),
        exp["experiment_id"],
        created,
    )


def default_version_name(commit: str) -> str:
    """``<commit prefix>-<UTC time>``: unique per upload, and says which code it is."""
    return f"{commit[:12] if commit != 'unknown' else 'nogit'}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"


def commit_of(resource: dict) -> str:
    """The commit ``submit`` recorded in a pipeline (version)'s description, or ``""``."""
    description = resource.get("description") or ""
    return description[len(COMMIT_PREFIX) :].strip() if description.startswith(COMMIT_PREFIX) else ""


def trigger_run(client: KfpClient, pipeline_name: str, experiment: str, parameters: dict, run_name: str) -> Submitted:
    """Start a run of the latest version of an uploaded pipeline (the monitor's retraining trigger on a cluster).

    ``git_commit``, unless given, is the commit that version was uploaded from (the code the run executes).
    """
    pipeline = client.find_pipeline(pipeline_name)
    if pipeline is None:
        raise SubmitError(f"no pipeline named {pipeline_name!r} on {client.host}; submit it first", EXIT_NOT_FOUND)
    version = client.latest_version(pipeline["pipeline_id"])
    commit = commit_of(version) or (commit_of(pipeline) if version.get("display_name") == pipeline_name else "")
    if "git_commit" not in parameters and commit:  # a first upload may leave the description on the pipeline only
        parameters = {**parameters, "git_commit": commit}
    exp = client.experiment(experiment)
    run = client.create_run(
        run_name, exp["experiment_id"], pipeline["pipeline_id"], version["pipeline_version_id"], parameters
    )
    return Submitted(
        run["run_id"],
        f"{client.host}/#/runs/details/{run['run_id']}",
        pipeline["pipeline_id"],
        version["pipeline_version_id"],
        version.get("display_name", ""),
        exp["experiment_id"],
        False,
    )

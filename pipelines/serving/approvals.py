"""Release approvals: the gate's record that a model's exact bytes (sha256) may be served as a version, and an
optional human sign-off, kept where the deploy side can check them.

On a cluster the record is the ConfigMap ``release-approvals`` in the serving namespace, written with the
``release-gate`` identity's token and read by the API server's admission policy
(``components/security/admission.py``): ``<model>.<sha256>`` -> ``<version>``, and ``<model>.<sha256>.approved-by``
-> the approver's user name. Locally it is ``release-approvals.json`` in the registry directory with the same keys,
and the local deploy checks it the way the admission policy does. Entries are append-only in both places.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Protocol

APPROVALS = "release-approvals"
APPROVED_BY = ".approved-by"
LOCAL_FILE = "release-approvals.json"
GATE_TOKEN = "/var/run/secrets/mlops/release-gate/token"
DEPLOYER_TOKEN = "/var/run/secrets/mlops/deployer/token"
"""Where the pipeline mounts the gate's and the deploy identity's token Secrets (one task each)."""
_SHA = re.compile(r"^[0-9a-f]{64}$")


class ApprovalError(ValueError):
    """No approval where one is required, or an approval that conflicts with an earlier one."""


def approval_key(model_name: str, sha256: str) -> str:
    if not _SHA.match(sha256):
        raise ApprovalError(f"sha256 {sha256!r} is not 64 lowercase hex digits")
    return f"{model_name}.{sha256}"


def api_client(token_file: str):
    """A Kubernetes ApiClient in the pod's cluster that acts as the identity whose token is in ``token_file``."""
    from kubernetes import client, config

    if not Path(token_file).is_file():
        raise ApprovalError(
            f"{token_file} is missing: the pipeline mounts this identity's token Secret into this step "
            "only (is the Secret there? see docs/security-release-admission.md)"
        )
    configuration = client.Configuration()
    config.load_incluster_config(client_configuration=configuration)
    configuration.api_key = {"authorization": "Bearer " + Path(token_file).read_text().strip()}
    return client.ApiClient(configuration)


class Approvals(Protocol):
    """Where approvals are kept: :class:`ClusterApprovals` on a cluster, :class:`LocalApprovals` locally."""

    def entries(self) -> dict[str, str]: ...

    def record(self, model_name: str, sha256: str, version: str) -> None: ...


class ClusterApprovals:
    """The ConfigMap the admission policy reads; ``core`` is a CoreV1Api (tests pass a fake)."""

    def __init__(self, core, namespace: str):
        self.core, self.namespace = core, namespace

    def entries(self) -> dict[str, str]:
        return dict(self._call(self.core.read_namespaced_config_map, APPROVALS, self.namespace).data or {})

    def _patch(self, data: dict[str, str]) -> None:
        self._call(self.core.patch_namespaced_config_map, APPROVALS, self.namespace, {"data": data})

    def _call(self, method, *args):
        """The API call, its refusal (RBAC, the admission policy) as an ApprovalError naming the answer."""
        from kubernetes.client.rest import ApiException

        try:
            return method(*args)
        except ApiException as exc:
            raise ApprovalError(
                f"{APPROVALS} in {self.namespace}: the API server answered {exc.status} {exc.reason}: "
                f"{(exc.body or '')[:300]}"
            ) from None

    def record(self, model_name: str, sha256: str, version: str) -> None:
        key = approval_key(model_name, sha256)
        earlier = self.entries().get(key)
        if earlier is not None and earlier != version:
            raise ApprovalError(f"{key} is already approved as version {earlier}; approvals are immutable")
        if earlier is None:
            self._patch({key: version})

    def sign_off(self, model_name: str, sha256: str, approver: str) -> None:
        """An approver's sign-off; ``approver`` must be the caller's own user name (the admission policy checks it)."""
        key = approval_key(model_name, sha256)
        entries = self.entries()
        if key not in entries:
            raise ApprovalError(f"{key} was not approved by the release gate; nothing to sign off")
        signed = entries.get(key + APPROVED_BY)
        if signed is not None and signed != approver:
            raise ApprovalError(f"{key} is already signed off by {signed}; approvals are immutable")
        if signed is None:
            self._patch({key + APPROVED_BY: approver})


class LocalApprovals:
    """``release-approvals.json`` next to the local registry, append-only like the ConfigMap."""

    def __init__(self, root: Path | str):
        self.path = Path(root) / LOCAL_FILE

    def entries(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise ApprovalError(f"{self.path} is not valid JSON: {exc}") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ApprovalError(f"{self.path} must map approval keys to strings")
        return data

    def _add(self, key: str, value: str) -> None:
        entries = self.entries()
        if key in entries and entries[key] != value:
            raise ApprovalError(f"{key} is already recorded as {entries[key]!r}; approvals are immutable")
        entries[key] = value
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".approvals-")
        with os.fdopen(fd, "w") as fh:
            json.dump(entries, fh, indent=2, sort_keys=True)
        os.replace(tmp, self.path)

    def record(self, model_name: str, sha256: str, version: str) -> None:
        self._add(approval_key(model_name, sha256), version)

    def sign_off(self, model_name: str, sha256: str, approver: str) -> None:
        """A human approval of a gate-approved version (``mlops`` records the actor; see docs)."""
        key = approval_key(model_name, sha256)
        if key not in self.entries():
            raise ApprovalError(f"{key} was not approved by the release gate; nothing to sign off")
        self._add(key + APPROVED_BY, approver)


def check_approved(
    entries: dict[str, str], model_name: str, sha256: str, version: str | None, require_human: bool
) -> None:
    """What the admission policy checks, for the deploy step to fail early with the reason: the gate approved these
    bytes (as ``version``, when given), and an approver signed them off when required."""
    key = approval_key(model_name, sha256)
    if key not in entries:
        raise ApprovalError(
            f"{model_name} with sha256 {sha256} was not approved by the release gate ({APPROVALS} has "
            "no entry for it); not deploying"
        )
    if version is not None and entries[key] != version:
        raise ApprovalError(f"{key} was approved as version {entries[key]}, not {version}; not deploying")
    if require_human and key + APPROVED_BY not in entries:
        raise ApprovalError(f"{key} has no human approval ({key}{APPROVED_BY}); not deploying")


def wait_for_sign_off(read, model_name: str, sha256: str, timeout_seconds: float, poll_seconds: float = 10.0) -> str:
    """Poll ``read()`` (the approvals) until an approver signed off; returns who. Times out with ApprovalError."""
    key = approval_key(model_name, sha256) + APPROVED_BY
    deadline = time.monotonic() + timeout_seconds
    while True:
        approver = read().get(key)
        if approver:
            return approver
        if time.monotonic() >= deadline:
            raise ApprovalError(f"no human approval ({key}) within {timeout_seconds:.0f} s; not deploying")
        time.sleep(poll_seconds)

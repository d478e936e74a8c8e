"""Deploy to KServe: create or update an ``InferenceService`` (serving.kserve.io/v1beta1) with canary traffic or a
blue-green switch, judge the new revision with :mod:`pipelines.serving.rollout`, then promote or roll back.

KServe keeps the last rolled-out revision serving while ``canaryTrafficPercent`` sends a share to the latest one;
promotion removes the field (latest takes 100%), rollback sets it to 0 (all traffic back on the previous revision,
no cold start). Blue-green is the same mechanism with 0% until the switch. Tag routing gives the ``latest`` and
``prev`` revisions their own URLs, which is where the health-check traffic goes. The model versions and their
lineage live in the InferenceService's annotations.

The model servers read the stack's ``models`` bucket only: the deploy step first publishes the version there
(:mod:`pipelines.serving.model_store`, ``<bucket>/<model>/<version>/``, immutable, object-locked) and ``storageUri``
points at that copy; a rollback points ``storageUri`` back at the restored version's copy. The runtime
(``mlops-credit-risk-oip``, :mod:`pipelines.serving.runtime`) checks the bytes against the sha256 set here.
InferenceServices are cluster-local (no route outside the cluster).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from pipelines.serving.local_deploy import Rollout, outcome_of
from pipelines.serving.probe import send_probes
from pipelines.serving.rollout import PROMOTE, ROLLBACK, Verdict, WindowStats, judge

GROUP, API_VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
SERVING_NAMESPACE = "ml-serving"
"""Same as ``components.kubernetes.baseline.SERVING_NAMESPACE`` (a test keeps them equal; this module runs in a pod)."""
MODEL_FORMAT = "credit-risk-mlp"
DEFAULT_RUNTIME = "mlops-credit-risk-oip"
"""The ServingRuntime of the services layer (``components.services.kserve.RUNTIME_NAME`` and ``MODEL_FORMAT``; a
test keeps them equal)."""
MODEL_SERVER_ACCOUNT = "model-serving"
"""The model servers' ServiceAccount (``components.services.kserve.MODEL_SERVER_ACCOUNT``): reads the models bucket."""
ANNOTATION = "mlops.platform"
TAG_ROUTING = "serving.kserve.io/enable-tag-routing"
VISIBILITY = "networking.kserve.io/visibility"
LINEAGE_SUMMARY = ("pipeline_run", "git_commit", "data_hash")
"""Lineage kept in the InferenceService's version history (the full record is the deploy step's artifact)."""


@dataclass
class ServiceSpec:
    """What the InferenceService serves and how its pods are sized."""

    name: str
    storage_uri: str
    sha256: str
    namespace: str = SERVING_NAMESPACE
    runtime: str = DEFAULT_RUNTIME
    service_account: str = MODEL_SERVER_ACCOUNT
    min_replicas: int = 2
    max_replicas: int = 6
    resources: dict = field(
        default_factory=lambda: {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    )


def model_source(storage_uri: str, version: str, sha256: str) -> dict:
    """The predictor's ``storageUri`` and what the runtime checks: the version it reports and the sha256 it serves."""
    from pipelines.serving.runtime import SHA256_ENV, VERSION_ENV

    return {
        "storageUri": storage_uri,
        "env": [{"name": VERSION_ENV, "value": version}, {"name": SHA256_ENV, "value": sha256}],
    }


def manifest(spec: ServiceSpec, version: str, canary_percent: int | None, versions: dict) -> dict:
    """The InferenceService for ``version``; ``canary_percent`` None means the latest revision takes all traffic.

    ``versions`` is the version history annotation (version -> storage URI, sha256, lineage summary).
    """
    predictor = {
        "serviceAccountName": spec.service_account,
        "minReplicas": spec.min_replicas,
        "maxReplicas": spec.max_replicas,
        "model": {
            "modelFormat": {"name": MODEL_FORMAT},
            "runtime": spec.runtime,
            "protocolVersion": "v2",
            **model_source(spec.storage_uri, version, spec.sha256),
            "resources": spec.resources,
        },
    }
    if canary_percent is not None:
        predictor["canaryTrafficPercent"] = canary_percent
    return {
        "apiVersion": f"{GROUP}/{API_VERSION}",
        "kind": "InferenceService",
        "metadata": {
            "name": spec.name,
            "namespace": spec.namespace,
            "labels": {
                "app.kubernetes.io/name": spec.name,
                "app.kubernetes.io/managed-by": "mlops-pipeline",
                VISIBILITY: "cluster-local",
            },
            "annotations": {
                TAG_ROUTING: "true",
                f"{ANNOTATION}/candidate-version": version,
                f"{ANNOTATION}/candidate-sha256": spec.sha256,
                f"{ANNOTATION}/versions": json.dumps(versions, sort_keys=True),
            },
        },
        "spec": {"predictor": predictor},
    }


def load_api(api=None):
    """The CustomObjectsApi: given (tests), else in-cluster config (the pipeline pod's service account)."""
    if api is not None:
        return api
    from kubernetes import client, config

    config.load_incluster_config()
    return client.CustomObjectsApi()


class KServeDeployer:
    def __init__(self, api=None, ready_timeout: float = 600.0, poll_seconds: float = 5.0):
        self.api = load_api(api)
        self.ready_timeout, self.poll_seconds = ready_timeout, poll_seconds

    # --- API calls ----------------------------------------------------------------------------------------------
    def get(self, spec: ServiceSpec) -> dict | None:
        from kubernetes.client.exceptions import ApiException

        try:
            return self.api.get_namespaced_custom_object(GROUP, API_VERSION, spec.namespace, PLURAL, spec.name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def _patch(self, spec: ServiceSpec, body: dict) -> dict:
        return self.api.patch_namespaced_custom_object(GROUP, API_VERSION, spec.namespace, PLURAL, spec.name, body)

    # --- rollout ------------------------------------------------------------------------------------------------
    def deploy(self, spec: ServiceSpec, rollout: Rollout, lineage: dict) -> dict:
        """Create or update, observe, promote or roll back; returns the outcome (also stored in annotations)."""
        current = self.get(spec)
        annotations = (current or {}).get("metadata", {}).get("annotations", {})
        versions = json.loads(annotations.get(f"{ANNOTATION}/versions", "{}"))
        stable = annotations.get(f"{ANNOTATION}/stable-version")
        known = versions.get(rollout.version)
        if known and known["sha256"] != spec.sha256:
            raise ValueError(
                f"{spec.name} {rollout.version} was deployed with sha256 {known['sha256']}; versions are "
                f"immutable (this artifact has sha256 {spec.sha256})"
            )
        if stable == rollout.version:
            return outcome_of(rollout, None, None, "kserve", note=f"{stable} is already the stable version")
        versions[rollout.version] = {
            "storageUri": spec.storage_uri,
            "sha256": spec.sha256,
            "lineage": {k: lineage.get(k) for k in LINEAGE_SUMMARY},
        }
        if current is None:
            body = manifest(spec, rollout.version, None, versions)
            self.api.create_namespaced_custom_object(GROUP, API_VERSION, spec.namespace, PLURAL, body)
        else:
            percent = rollout.canary_percent if rollout.strategy == "canary" else 0
            body = manifest(spec, rollout.version, percent, versions)
            self._patch(spec, {"metadata": {"annotations": body["metadata"]["annotations"]}, "spec": body["spec"]})
        verdict = self.observe(spec, rollout, first=current is None)
        if verdict.decision == PROMOTE:
            self.promote(spec, rollout.version)
            restored = None
        else:
            restored = self.rollback(spec, rollout.version, stable, "; ".join(verdict.reasons), versions)
        outcome = outcome_of(
            rollout,
            verdict,
            restored,
            "kserve",
            namespace=spec.namespace,
            service=spec.name,
            storage_uri=spec.storage_uri,
            replaced=stable if verdict.healthy else None,
        )
        if verdict.healthy or restored is not None:  # a failed first deployment was deleted
            self._patch(spec, {"metadata": {"annotations": {f"{ANNOTATION}/last-outcome": json.dumps(outcome)}}})
        return outcome

    def wait_ready(self, spec: ServiceSpec) -> tuple[bool, dict]:
        """Until the latest created predictor revision is ready (or the timeout); returns (ready, status)."""
        deadline = time.monotonic() + self.ready_timeout
        while True:
            status = (self.get(spec) or {}).get("status", {})
            predictor = status.get("components", {}).get("predictor", {})
            conditions = {c.get("type"): c.get("status") for c in status.get("conditions", [])}
            latest = predictor.get("latestCreatedRevision")
            if latest and predictor.get("latestReadyRevision") == latest and conditions.get("PredictorReady") == "True":
                return True, status
            if time.monotonic() >= deadline:
                return False, status
            time.sleep(self.poll_seconds)

    def observe(self, spec: ServiceSpec, rollout: Rollout, first: bool) -> Verdict:
        ready, status = self.wait_ready(spec)
        if not ready:
            return judge(False, WindowStats(), rollout.policy)
        urls = tag_urls(status)
        latest = urls.get("latest") or (status.get("url") if first else None)
        if not latest:  # without its own URL the probes would reach the stable revision and prove nothing
            return Verdict(ROLLBACK, ("the candidate revision has no URL of its own (is tag routing on?)",), {}, None)
        path = f"/v2/models/{spec.name}/infer"
        candidate = send_probes(
            latest + path,
            rollout.probe_rows,
            rollout.policy.min_requests,
            f"probe-{rollout.version}",
            rollout.window_seconds,
        )
        baseline = None
        if not first and urls.get("prev"):
            baseline = send_probes(
                urls["prev"] + path, rollout.probe_rows, rollout.policy.min_requests, f"baseline-{rollout.version}"
            )
        return judge(True, candidate, rollout.policy, baseline)

    def promote(self, spec: ServiceSpec, version: str) -> None:
        """The latest revision takes all traffic (``canaryTrafficPercent`` removed by the merge patch)."""
        self._patch(
            spec,
            {
                "metadata": {
                    "annotations": {f"{ANNOTATION}/stable-version": version, f"{ANNOTATION}/candidate-version": None}
                },
                "spec": {"predictor": {"canaryTrafficPercent": None}},
            },
        )

    def rollback(self, spec: ServiceSpec, version: str, stable: str | None, reason: str, versions: dict) -> str | None:
        """All traffic back on the last rolled-out revision (``canaryTrafficPercent: 0``) and the spec back on the
        restored version's copy in the models bucket; returns the restored version.

        KServe keeps sending 100% to the rolled-out revision while the spec's new (restored) revision gets 0%, so
        there is no cold start; the next rollout's canary splits against the rolled-out revision again. A first
        deployment has nothing to fall back to: the InferenceService is deleted.
        """
        if stable is None:
            self.api.delete_namespaced_custom_object(GROUP, API_VERSION, spec.namespace, PLURAL, spec.name)
            return None
        restored = versions.get(stable) or {}
        predictor: dict = {"canaryTrafficPercent": 0}
        if restored.get("storageUri"):  # always, for versions this deployer recorded
            predictor["model"] = model_source(restored["storageUri"], stable, restored["sha256"])
        self._patch(
            spec,
            {
                "metadata": {
                    "annotations": {
                        f"{ANNOTATION}/candidate-version": None,
                        f"{ANNOTATION}/rolled-back": json.dumps(
                            {
                                "version": version,
                                "restored": stable,
                                "reason": reason,
                                "storageUri": restored.get("storageUri"),
                            }
                        ),
                    }
                },
                "spec": {"predictor": predictor},
            },
        )
        return stable


def tag_urls(status: dict) -> dict[str, str]:
    """``{"latest": url, "prev": url}`` from the predictor's traffic targets (tag routing)."""
    traffic = status.get("components", {}).get("predictor", {}).get("traffic", [])
    return {t["tag"]: t["url"] for t in traffic if t.get("tag") and t.get("url")}

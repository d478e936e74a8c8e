"""Deploy: the local rollout (registry + serving process), KServe manifests and the cluster rollout's API calls."""

from __future__ import annotations

import copy
import json

import pytest

from pipelines.registry import LocalRegistry
from pipelines.serving.local_deploy import Rollout, deploy_local
from pipelines.serving.rollout import HealthPolicy
from tests.pipelines.serving.conftest import SAMPLE, model_dirs  # noqa: F401 - the fixture

POLICY = HealthPolicy(max_error_rate=0.01, max_p95_latency_ms=2000, max_latency_ratio=50, min_requests=10)
ROWS = [dict(SAMPLE, annual_income=50000.0 + 1000 * i) for i in range(16)]


@pytest.fixture
def registry(tmp_path, model_dirs):  # noqa: F811
    reg = LocalRegistry(tmp_path / "registry")
    for key in ("a", "b", "broken"):
        reg.register("credit-risk", model_dirs[key])
    return reg


def _rollout(version, strategy="canary", percent=10):
    return Rollout("credit-risk", version, strategy, percent, POLICY, ROWS)


def test_first_version_then_a_healthy_canary_is_promoted(registry):
    first = deploy_local(registry, _rollout("v1"))
    assert first["outcome"] == "promoted" and registry.state("credit-risk").stable == "v1"
    outcome = deploy_local(registry, _rollout("v2"))
    assert outcome["outcome"] == "promoted", outcome
    assert outcome["candidate"]["requests"] >= POLICY.min_requests and outcome["stable"]["requests"] > 0
    assert outcome["replaced"] == "v1" and registry.state("credit-risk").weights == {"v2": 100}
    assert registry.get("credit-risk", "v2").lineage["deployments"][-1]["outcome"] == "promoted"
    again = deploy_local(registry, _rollout("v2"))
    assert again["outcome"] == "unchanged", "re-running a deployment of the stable version changes nothing"


def test_a_failing_canary_is_rolled_back_and_the_restored_version_is_named(registry):
    deploy_local(registry, _rollout("v1"))
    outcome = deploy_local(registry, _rollout("v3"))
    assert outcome["outcome"] == "rolled_back" and outcome["restored"] == "v1"
    assert any("error rate" in r for r in outcome["reasons"])
    assert registry.state("credit-risk").weights == {"v1": 100}
    last = registry.history("credit-risk")[-1]
    assert (last["action"], last["version"], last["restored"]) == ("rollback", "v3", "v1")


def test_blue_green_checks_the_idle_version_before_switching(registry):
    deploy_local(registry, _rollout("v1"))
    outcome = deploy_local(registry, _rollout("v2", "blue-green", 0))
    assert outcome["outcome"] == "promoted" and outcome["canary_percent"] == 0
    assert outcome["candidate"]["requests"] == POLICY.min_requests, "only the pinned health-check traffic"
    bad = deploy_local(registry, _rollout("v3", "blue-green", 0))
    assert bad["outcome"] == "rolled_back" and bad["restored"] == "v2"


def test_an_interrupted_rollout_of_another_version_is_withdrawn_first(registry):
    import subprocess
    import sys

    from pipelines.registry import rollout_owner

    deploy_local(registry, _rollout("v1"))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    registry.start_rollout("credit-risk", "v3", "canary", 10, owner={**rollout_owner("crashed"), "pid": gone.pid})
    assert deploy_local(registry, _rollout("v1"))["outcome"] == "unchanged"
    assert registry.state("credit-risk").weights == {"v1": 100}
    withdrawn = registry.history("credit-risk")[-1]
    assert (withdrawn["action"], withdrawn["version"]) == ("rollback", "v3")
    assert withdrawn["reason"] == f"interrupted: owner pid {gone.pid} gone"


def test_a_deploy_refuses_while_another_live_run_holds_the_rollout(registry):
    import subprocess
    import sys

    from pipelines.registry import RolloutInProgress, rollout_owner

    deploy_local(registry, _rollout("v1"))
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        registry.start_rollout(
            "credit-risk", "v2", "canary", 10, owner={**rollout_owner("run-A"), "pid": other.pid, "pid_started": None}
        )
        rollout = _rollout("v3")
        rollout.lease_wait_seconds = 0.5
        with pytest.raises(RolloutInProgress, match="rollout of credit-risk v2 by run run-A"):
            deploy_local(registry, rollout)
        assert registry.state("credit-risk").weights == {"v1": 90, "v2": 10}, "the other run's canary is untouched"
    finally:
        other.kill()
        other.wait()


def test_an_unreachable_serving_url_withdraws_the_candidate(registry):
    deploy_local(registry, _rollout("v1"))
    outcome = deploy_local(registry, _rollout("v2"), server_url="http://127.0.0.1:9")
    assert outcome["outcome"] == "rolled_back" and outcome["restored"] == "v1"
    assert "no serving process answers" in outcome["reasons"][0]


# --- KServe ------------------------------------------------------------------------------------------------------


def test_namespace_runtime_and_service_account_match_the_platform_services():
    from components.kubernetes.baseline import SERVING_NAMESPACE
    from components.services import kserve as services
    from pipelines.serving import kserve

    assert kserve.SERVING_NAMESPACE == SERVING_NAMESPACE
    assert kserve.DEFAULT_RUNTIME == services.RUNTIME_NAME
    assert kserve.MODEL_FORMAT == services.MODEL_FORMAT
    assert kserve.MODEL_SERVER_ACCOUNT == services.MODEL_SERVER_ACCOUNT


def test_manifest_is_a_v1beta1_inference_service_with_canary_and_tag_routing():
    from pipelines.serving.kserve import ServiceSpec, manifest

    spec = ServiceSpec(name="credit-risk", storage_uri="s3://models/run-1/best_model", sha256="ab" * 32)
    body = manifest(spec, "run-1", 10, {"run-1": {"sha256": "ab" * 32}})
    assert body["apiVersion"] == "serving.kserve.io/v1beta1" and body["kind"] == "InferenceService"
    assert body["metadata"]["namespace"] == "ml-serving"
    annotations = body["metadata"]["annotations"]
    assert annotations["serving.kserve.io/enable-tag-routing"] == "true"
    assert annotations["mlops.platform/candidate-version"] == "run-1"
    predictor = body["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 10
    assert predictor["model"]["storageUri"] == "s3://models/run-1/best_model"
    assert predictor["model"]["protocolVersion"] == "v2" and predictor["model"]["runtime"]
    assert predictor["model"]["resources"]["limits"]["memory"]
    assert predictor["model"]["modelFormat"] == {"name": "credit-risk-mlp"}
    assert predictor["model"]["env"] == [
        {"name": "MLOPS_MODEL_VERSION", "value": "run-1"},
        {"name": "MLOPS_MODEL_SHA256", "value": "ab" * 32},
    ]
    assert body["metadata"]["labels"]["networking.kserve.io/visibility"] == "cluster-local"
    assert "canaryTrafficPercent" not in manifest(spec, "run-1", None, {})["spec"]["predictor"]


class FakeKServe:
    """The CustomObjectsApi calls the deployer makes, with KServe's revision bookkeeping: each spec change is a new
    revision, ``canaryTrafficPercent`` splits between the latest and the last rolled-out one (the last revision that
    took all traffic), and tag routing puts their URLs in the status (here: a real local model server per version)."""

    def __init__(self, urls_by_storage: dict[str, str]):
        self.objects: dict[str, dict] = {}
        self.calls: list[tuple] = []
        self.urls = urls_by_storage

    def _status(self, obj: dict, previous: dict | None) -> None:
        pred = obj["spec"]["predictor"]
        revisions = (previous or {}).get("_revisions", [])
        if not previous or previous["spec"]["predictor"]["model"] != pred["model"]:
            revisions = [*revisions, pred["model"]["storageUri"]]
        obj["_revisions"] = revisions
        canary = pred.get("canaryTrafficPercent")
        rolled_out = len(revisions) - 1 if canary is None else (previous or {}).get("_rolled_out", len(revisions) - 1)
        obj["_rolled_out"] = rolled_out
        traffic = [{"tag": "latest", "url": self.urls[revisions[-1]], "percent": 100 if canary is None else canary}]
        if rolled_out != len(revisions) - 1:
            traffic.append({"tag": "prev", "url": self.urls[revisions[rolled_out]], "percent": 100 - canary})
        obj["status"] = {
            "url": self.urls[revisions[-1]],
            "conditions": [{"type": "PredictorReady", "status": "True"}],
            "components": {
                "predictor": {
                    "latestCreatedRevision": f"r{len(revisions)}",
                    "latestReadyRevision": f"r{len(revisions)}",
                    "traffic": traffic,
                }
            },
        }

    def get_namespaced_custom_object(self, group, version, namespace, plural, name):
        from kubernetes.client.exceptions import ApiException

        self.calls.append(("get", name))
        if name not in self.objects:
            raise ApiException(status=404, reason="Not Found")
        return copy.deepcopy(self.objects[name])

    def create_namespaced_custom_object(self, group, version, namespace, plural, body):
        assert (group, version, plural) == ("serving.kserve.io", "v1beta1", "inferenceservices")
        self.calls.append(("create", body["metadata"]["name"]))
        obj = copy.deepcopy(body)
        self._status(obj, None)
        self.objects[body["metadata"]["name"]] = obj
        return obj

    def patch_namespaced_custom_object(self, group, version, namespace, plural, name, body):
        self.calls.append(("patch", name, copy.deepcopy(body)))
        previous = self.objects[name]
        merged = _merge_patch(copy.deepcopy(previous), body)
        self._status(merged, previous)
        self.objects[name] = merged
        return merged

    def delete_namespaced_custom_object(self, group, version, namespace, plural, name):
        self.calls.append(("delete", name))
        del self.objects[name]


def _merge_patch(target: dict, patch: dict) -> dict:
    """RFC 7386 JSON merge patch (what the Kubernetes client sends for custom objects)."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            target[key] = _merge_patch(target[key], value)
        else:
            target[key] = value
    return target


@pytest.fixture
def kserve(tmp_path, model_dirs):  # noqa: F811
    """A fake KServe API whose revisions are served by real local model servers (one per model directory)."""
    from pipelines.serving.server import ServingApp, start_in_background

    servers, urls = [], {}
    for key in ("a", "b", "broken"):
        reg = LocalRegistry(tmp_path / f"reg-{key}")
        reg.register("credit-risk", model_dirs[key])
        reg.start_rollout("credit-risk", "v1", "canary", 10)
        server, thread = start_in_background(ServingApp(reg, tmp_path / f"{key}.jsonl"))
        servers.append((server, thread))
        urls[f"s3://models/{key}"] = server.url
    yield FakeKServe(urls)
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_kserve_rollout_creates_then_canaries_promotes_and_rolls_back(kserve):
    from pipelines.serving.kserve import KServeDeployer, ServiceSpec

    deployer = KServeDeployer(api=kserve, poll_seconds=0)
    lineage = {"pipeline_run": "r", "git_commit": "c", "data_hash": "d"}

    def spec(key):
        return ServiceSpec(name="credit-risk", storage_uri=f"s3://models/{key}", sha256=key * 8)

    first = deployer.deploy(spec("a"), _rollout("run-a"), lineage)
    assert first["outcome"] == "promoted" and kserve.calls[1][0] == "create"
    assert "canaryTrafficPercent" not in kserve.objects["credit-risk"]["spec"]["predictor"]

    second = deployer.deploy(spec("b"), _rollout("run-b", percent=25), lineage)
    assert second["outcome"] == "promoted", second
    patches = [c[2] for c in kserve.calls if c[0] == "patch"]
    canary_patch = next(p for p in patches if p.get("spec", {}).get("predictor", {}).get("canaryTrafficPercent") == 25)
    assert canary_patch["spec"]["predictor"]["model"]["storageUri"] == "s3://models/b"
    obj = kserve.objects["credit-risk"]
    assert "canaryTrafficPercent" not in obj["spec"]["predictor"], "promotion hands the latest revision 100%"
    assert obj["metadata"]["annotations"]["mlops.platform/stable-version"] == "run-b"
    assert set(json.loads(obj["metadata"]["annotations"]["mlops.platform/versions"])) == {"run-a", "run-b"}

    bad = deployer.deploy(spec("broken"), _rollout("run-c"), lineage)
    assert bad["outcome"] == "rolled_back" and bad["restored"] == "run-b"
    obj = kserve.objects["credit-risk"]
    assert obj["spec"]["predictor"]["canaryTrafficPercent"] == 0, "all traffic back on the rolled-out revision"
    model = obj["spec"]["predictor"]["model"]
    assert model["storageUri"] == "s3://models/b", "the spec points at the restored version's copy"
    assert {e["name"]: e["value"] for e in model["env"]} == {
        "MLOPS_MODEL_VERSION": "run-b",
        "MLOPS_MODEL_SHA256": "b" * 8,
    }
    traffic = {t["tag"]: t for t in obj["status"]["components"]["predictor"]["traffic"]}
    assert traffic["prev"]["url"] == kserve.urls["s3://models/b"] and traffic["prev"]["percent"] == 100
    assert json.loads(obj["metadata"]["annotations"]["mlops.platform/rolled-back"])["restored"] == "run-b"
    assert json.loads(obj["metadata"]["annotations"]["mlops.platform/last-outcome"])["outcome"] == "rolled_back"

    with pytest.raises(ValueError, match="immutable"):
        deployer.deploy(
            ServiceSpec(name="credit-risk", storage_uri="s3://models/a", sha256="f" * 64), _rollout("run-b"), lineage
        )
    assert deployer.deploy(spec("b"), _rollout("run-b"), lineage)["outcome"] == "unchanged"


def test_a_failed_first_kserve_deployment_is_removed(kserve):
    from pipelines.serving.kserve import KServeDeployer, ServiceSpec

    outcome = KServeDeployer(api=kserve, poll_seconds=0).deploy(
        ServiceSpec(name="credit-risk", storage_uri="s3://models/broken", sha256="0" * 64), _rollout("run-x"), {}
    )
    assert outcome["outcome"] == "rolled_back" and outcome["restored"] is None
    assert "credit-risk" not in kserve.objects


def test_an_update_without_a_candidate_url_is_rolled_back(kserve):
    from pipelines.serving.kserve import KServeDeployer, ServiceSpec

    deployer = KServeDeployer(api=kserve, poll_seconds=0)
    deployer.deploy(ServiceSpec(name="credit-risk", storage_uri="s3://models/a", sha256="a" * 64), _rollout("r1"), {})
    original = kserve._status

    def without_tags(obj, previous):
        original(obj, previous)
        obj["status"]["components"]["predictor"]["traffic"] = []

    kserve._status = without_tags
    outcome = deployer.deploy(
        ServiceSpec(name="credit-risk", storage_uri="s3://models/b", sha256="b" * 64), _rollout("r2"), {}
    )
    assert outcome["outcome"] == "rolled_back" and outcome["restored"] == "r1"
    assert "no URL of its own" in outcome["reasons"][0]


def test_cluster_deploy_publishes_to_the_model_store_and_serves_from_there(tmp_path, model_dirs):  # noqa: F811
    """The deploy step's cluster branch: each version copied to <models bucket>/<name>/<version>/ (immutable), the
    InferenceService's storageUri on that copy, a rollback back on the restored version's copy."""
    from pipelines.registry import VersionConflict, artifact_sha256
    from pipelines.serving.deploy import deploy
    from pipelines.serving.server import ServingApp, start_in_background

    store = tmp_path / "models-bucket"
    servers, urls = [], {}
    for key, version in (("a", "run-a"), ("broken", "run-c")):
        reg = LocalRegistry(tmp_path / f"reg-{key}")
        reg.register("credit-risk", model_dirs[key])
        reg.start_rollout("credit-risk", "v1", "canary", 10)
        server, thread = start_in_background(ServingApp(reg, tmp_path / f"{key}.jsonl"))
        servers.append((server, thread))
        urls[f"file://{store}/credit-risk/{version}/"] = server.url
    api = FakeKServe(urls)

    def run(key, version):
        sha = artifact_sha256(model_dirs[key])
        return deploy(
            target="kserve",
            model_name="credit-risk",
            version=version,
            lineage={"sha256": sha},
            model_dir=str(model_dirs[key]),
            model_uri="s3://pipeline-artifacts/run/best_model",
            reference_profile="",
            rows=ROWS,
            strategy="canary",
            canary_percent=10,
            policy=POLICY,
            window_seconds=0,
            registry_root="",
            serving_url="",
            feature_repo="",
            namespace="ml-serving",
            serving_runtime="mlops-credit-risk-oip",
            model_store_uri=f"file://{store}",
            kserve_api=api,
        )

    try:
        with pytest.raises(ValueError, match="model_store_uri"):
            deploy(
                target="kserve",
                model_name="credit-risk",
                version="run-a",
                lineage={"sha256": "x"},
                model_dir=str(model_dirs["a"]),
                model_uri="",
                reference_profile="",
                rows=ROWS,
                strategy="canary",
                canary_percent=10,
                policy=POLICY,
                window_seconds=0,
                registry_root="",
                serving_url="",
                feature_repo="",
                namespace="ml-serving",
                serving_runtime="mlops-credit-risk-oip",
                kserve_api=api,
            )
        outcome, record = run("a", "run-a")
        assert outcome["outcome"] == "promoted" and outcome["storage_uri"] == f"file://{store}/credit-risk/run-a/"
        assert record["serving_uri"] == outcome["storage_uri"]
        assert artifact_sha256(store / "credit-risk" / "run-a") == artifact_sha256(model_dirs["a"])
        model = api.objects["credit-risk"]["spec"]["predictor"]["model"]
        assert model["storageUri"] == outcome["storage_uri"] and model["runtime"] == "mlops-credit-risk-oip"

        bad, _ = run("broken", "run-c")
        assert bad["outcome"] == "rolled_back" and bad["restored"] == "run-a"
        model = api.objects["credit-risk"]["spec"]["predictor"]["model"]
        assert model["storageUri"] == f"file://{store}/credit-risk/run-a/"
        assert (store / "credit-risk" / "run-c").is_dir(), "the rejected version stays in the bucket (audit)"

        with pytest.raises(VersionConflict, match="immutable"):
            run("b", "run-a")  # other bytes under a published version
    finally:
        for server, thread in servers:
            server.shutdown()
            server.server_close()
            thread.join(5)

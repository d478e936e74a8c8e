"""The compiled pipeline: committed file current, GPU placement from components.gpu, pinned packages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from components.gpu import GPU_NODE_SELECTOR, GPU_RESOURCE, GPU_TOLERATION

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compiled() -> str:
    from pipelines.compile import compile_yaml

    return compile_yaml()


@pytest.fixture(scope="module")
def documents(compiled) -> tuple[dict, dict]:
    spec, platform = yaml.safe_load_all(compiled)
    return spec, platform


def test_committed_compiled_pipeline_is_current(compiled):
    from pipelines.compile import COMPILED, normalize

    assert COMPILED.exists(), "run `mlops pipeline compile` and commit pipelines/compiled/train_validate_deploy.yaml"
    assert normalize(COMPILED.read_text()) == normalize(compiled), (
        "pipelines/compiled/train_validate_deploy.yaml is stale: run `mlops pipeline compile` and commit it"
    )


def test_normalize_detects_a_change_in_the_embedded_code(compiled):
    import base64
    import gzip
    import io
    import tarfile

    from pipelines.compile import normalize

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"changed = True\n"
        info = tarfile.TarInfo("./pipelines/ml/extra.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    other = base64.b64encode(gzip.compress(buf.getvalue())).decode()
    tampered = re.sub(
        r"__KFP_EMBEDDED_ARCHIVE_B64 = '[^']+'", f"__KFP_EMBEDDED_ARCHIVE_B64 = '{other}'", compiled, count=1
    )
    assert normalize(tampered) != normalize(compiled)


def test_compiled_training_runs_as_katib_and_trainjob_on_the_gpu_pool(documents):
    """On a cluster the search and training steps are launchers (no GPU themselves); what they launch, built from the
    compiled defaults, asks for GPUs on the GPU pools through the Kueue training queue."""
    from components.gpu import QUEUE_NAME_LABEL, TORCH_RUNTIME, TRAINING_QUEUE
    from pipelines.steps.katib import katib_experiment
    from pipelines.steps.trainjob import build_trainjob

    spec, _platform = documents
    defaults = {name: p.get("defaultValue") for name, p in spec["root"]["inputDefinitions"]["parameters"].items()}
    assert defaults["training_backend"] == "kubeflow" and defaults["gpus_per_node"] == 1
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["train-model"]["inputs"]["parameters"]["backend"]["componentInputParameter"] == "training_backend"
    assert (
        tasks["search-hyperparameters"]["inputs"]["parameters"]["backend"]["componentInputParameter"]
        == "training_backend"
    )
    executors = spec["deploymentSpec"]["executors"]
    assert not [n for n, ex in executors.items() if "accelerator" in ex.get("container", {}).get("resources", {})]

    job = build_trainjob("t", "kubeflow", defaults["training_image"], "s3://b/spec.json", num_nodes=2, gpus_per_node=8)
    assert job["kind"] == "TrainJob" and job["spec"]["runtimeRef"]["name"] == TORCH_RUNTIME
    assert job["spec"]["trainer"]["numNodes"] == 2
    assert job["spec"]["trainer"]["resourcesPerNode"]["limits"][GPU_RESOURCE] in (8, "8")
    assert job["metadata"]["labels"][QUEUE_NAME_LABEL] == TRAINING_QUEUE
    pod = str(job["spec"]["podTemplateOverrides"])
    assert str(GPU_NODE_SELECTOR)[1:-1] in pod and str(GPU_TOLERATION) in pod

    experiment = katib_experiment("e", "kubeflow", "s3://b/data.parquet", defaults["training_image"])
    trial_pod = experiment["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]
    assert (
        trial_pod["metadata"]["labels"][QUEUE_NAME_LABEL] == TRAINING_QUEUE
        or experiment["spec"]["trialTemplate"]["trialSpec"]["metadata"]["labels"][QUEUE_NAME_LABEL] == TRAINING_QUEUE
    )
    assert trial_pod["spec"]["nodeSelector"] == GPU_NODE_SELECTOR and GPU_TOLERATION in trial_pod["spec"]["tolerations"]
    assert trial_pod["spec"]["containers"][0]["resources"]["limits"][GPU_RESOURCE] in (1, "1")


def test_every_step_carries_its_code_and_pinned_packages(documents):
    spec, _ = documents
    pins = dict(
        line.strip().split("==") for line in (REPO / "constraints.txt").read_text().splitlines() if "==" in line
    )
    for name, executor in spec["deploymentSpec"]["executors"].items():
        script = "\n".join(executor["container"]["command"])
        assert "__KFP_EMBEDDED_ARCHIVE_B64" in script, f"{name} does not embed the step code"
        for package, version in re.findall(r"'([A-Za-z0-9_.-]+)(?:\[[a-z,]+\])?==([^']+)'", script):
            assert pins.get(package) == version, f"{name}: {package}=={version} differs from constraints.txt"
        assert executor["container"]["image"].startswith("python:3.11")


def test_pipeline_graph_searches_then_trains_the_best_and_gates_last(documents):
    spec, _ = documents
    tasks = spec["root"]["dag"]["tasks"]
    assert {
        "load-training-data",
        "validate-data",
        "search-hyperparameters",
        "train-model",
        "evaluate-model",
        "release-gate",
    } <= set(tasks)
    best = tasks["train-model"]["inputs"]["parameters"]["hyperparams"]["taskOutputParameter"]
    assert best == {"producerTask": "search-hyperparameters", "outputParameterKey": "best_params"}
    assert tasks["search-hyperparameters"]["dependentTasks"] == ["load-training-data", "validate-data"]
    assert tasks["release-gate"]["dependentTasks"] == ["evaluate-model"]


def test_a_rejecting_gate_runs_the_step_that_fails_the_run(documents):
    spec, platform = documents
    tasks = spec["root"]["dag"]["tasks"]
    conditions = {
        t["triggerPolicy"]["condition"].rsplit(" == ", 1)[1]: spec["components"][t["componentRef"]["name"]]
        for name, t in tasks.items()
        if name.startswith("condition-")
    }
    assert set(conditions) == {"'deploy'", "'reject'"}
    rejected = conditions["'reject'"]["dag"]["tasks"]
    assert list(rejected) == ["release-rejected"]
    assert rejected["release-rejected"]["inputs"]["artifacts"]["gate_report"] == {
        "componentInputArtifact": "pipelinechannel--release-gate-report"
    }, "the gate's report is written before"
    secrets = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    for executor in ("exec-deploy-model", "exec-release-rejected"):
        (secret,) = secrets[executor]["secretAsEnv"]
        assert secret["secretName"] == "mlops-alerting" and secret["optional"] is True
        assert secret["keyToEnv"] == [{"envVar": "MLOPS_ALERT_SECRET", "secretKey": "secret"}]
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert {"alert_webhook_url", "alert_format", "alert_secret_env"} <= set(params)


def test_the_monitoring_pipeline_reads_the_model_from_the_store_and_sends_alerts(tmp_path):
    from pipelines.monitor_pipeline import compile_to
    from pipelines.submit import pipeline_parameters

    compile_to(tmp_path / "monitor.yaml")
    params = pipeline_parameters(tmp_path / "monitor.yaml")
    assert params["model_store_uri"] is None, "required: where the stable version is recorded"
    assert params["model_name"] == "credit-risk" and params["baseline_auc"] == 0.0
    assert {
        "alert_webhook_url",
        "alert_format",
        "alert_secret_env",
        "serving_url",
        "train_days",
        "reference_days",
    } <= set(params)
    assert not {"model_uri", "reference_profile_uri"} & set(params), "no fixed model: it follows promotions"
    spec = yaml.safe_load_all((tmp_path / "monitor.yaml").read_text())
    assert "importer" not in " ".join(next(spec)["root"]["dag"]["tasks"])

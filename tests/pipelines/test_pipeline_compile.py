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
        "pipelines/compiled/train_validate_deploy.yaml is stale: run `mlops pipeline compile` and commit it")


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
    tampered = re.sub(r"__KFP_EMBEDDED_ARCHIVE_B64 = '[^']+'", f"__KFP_EMBEDDED_ARCHIVE_B64 = '{other}'", compiled,
                      count=1)
    assert normalize(tampered) != normalize(compiled)


def test_training_executor_requests_a_gpu_on_the_gpu_pool(documents):
    spec, platform = documents
    executors = spec["deploymentSpec"]["executors"]
    accelerator = executors["exec-train-model"]["container"]["resources"]["accelerator"]
    assert accelerator["resourceType"] == GPU_RESOURCE and str(accelerator["resourceCount"]) == "1"
    placement = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert placement["exec-train-model"]["nodeSelector"]["labels"] == GPU_NODE_SELECTOR
    assert placement["exec-train-model"]["tolerations"] == [GPU_TOLERATION]
    others = [name for name, ex in executors.items() if "accelerator" in ex.get("container", {}).get("resources", {})]
    assert others == ["exec-train-model"] and set(placement) == {"exec-train-model"}


def test_every_step_carries_its_code_and_pinned_packages(documents):
    spec, _ = documents
    pins = dict(line.strip().split("==") for line in (REPO / "constraints.txt").read_text().splitlines()
                if "==" in line)
    for name, executor in spec["deploymentSpec"]["executors"].items():
        script = "\n".join(executor["container"]["command"])
        assert "__KFP_EMBEDDED_ARCHIVE_B64" in script, f"{name} does not embed the step code"
        for package, version in re.findall(r"'([A-Za-z0-9_.-]+)(?:\[[a-z,]+\])?==([^']+)'", script):
            assert pins.get(package) == version, f"{name}: {package}=={version} differs from constraints.txt"
        assert executor["container"]["image"].startswith("python:3.11")


def test_pipeline_graph_runs_the_search_in_parallel_and_gates_last(documents):
    spec, _ = documents
    tasks = spec["root"]["dag"]["tasks"]
    assert {"load-training-data", "validate-data", "select-best-model", "evaluate-model", "release-gate"} <= set(tasks)
    loop = next(v for k, v in tasks.items() if k.startswith("for-loop"))
    assert loop["parameterIterator"]["items"]["inputParameter"].endswith("trials")
    assert tasks["release-gate"]["dependentTasks"] == ["evaluate-model"]

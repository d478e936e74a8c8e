"""The KServe model-server entrypoint run for real: a subprocess serving a trained model directory over OIP v2, whose
answers must equal ``mlops serve``'s for the same bytes; it refuses bytes that differ from the deployed sha256."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.registry import LocalRegistry, artifact_sha256
from pipelines.serving.probe import get_json, infer_body, post_json
from pipelines.serving.server import ServingApp

REPO = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(model_dir: Path, *extra: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines.serving.runtime",
            "--model-dir",
            str(model_dir),
            "--model-name",
            "credit-risk",
            "--http-port",
            str(port),
            "--host",
            "127.0.0.1",
            *extra,
        ],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, f"http://127.0.0.1:{port}"


def _wait_ready(proc: subprocess.Popen, url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the model server exited ({proc.returncode}): {proc.stderr.read()}")
        if get_json(f"{url}/v2/health/ready", timeout=1)[0] == 200:
            return
        time.sleep(0.1)
    raise AssertionError("the model server did not become ready")


@pytest.fixture
def runtime(model_dirs):
    """The runtime serving model ``a`` as version run-1, with the sha256 the deploy step would pass."""
    model_dir = model_dirs["a"]
    env = {"MLOPS_MODEL_VERSION": "run-1", "MLOPS_MODEL_SHA256": artifact_sha256(model_dir)}
    proc, url = _start(model_dir, env=env)
    try:
        _wait_ready(proc, url)
        yield url, model_dir
    finally:
        proc.terminate()
        proc.wait(10)


def test_runtime_answers_like_the_local_server(runtime, sample_rows, tmp_path):
    url, model_dir = runtime
    registry = LocalRegistry(tmp_path / "registry")
    registry.register("credit-risk", model_dir)
    registry.start_rollout("credit-risk", "v1", "canary", 10)
    local = ServingApp(registry, tmp_path / "requests.jsonl")

    batch = {
        "id": "batch",
        "inputs": [
            {
                "name": k,
                "shape": [len(sample_rows)],
                "datatype": "BYTES" if isinstance(v, str) else "FP64",
                "data": [row[k] for row in sample_rows],
            }
            for k, v in sample_rows[0].items()
        ],
    }
    status, remote = post_json(f"{url}/v2/models/credit-risk/infer", batch)
    assert status == 200, remote
    _, expected = local.infer("credit-risk", batch)
    assert remote["model_version"] == "run-1" and remote["id"] == "batch"
    assert remote["outputs"] == expected["outputs"]  # same probabilities, same tensor
    assert len(remote["outputs"][0]["data"]) == len(sample_rows)

    for i, row in enumerate(sample_rows[:3]):
        status, one = post_json(f"{url}/v2/models/credit-risk/versions/run-1/infer", infer_body(row, f"r-{i}"))
        assert status == 200 and one["outputs"] == local.infer("credit-risk", infer_body(row, f"r-{i}"))[1]["outputs"]
        assert one["outputs"][0]["data"][0] == pytest.approx(expected["outputs"][0]["data"][i], abs=1e-6)


def test_runtime_speaks_the_protocol_and_reports_bad_requests(runtime, sample_rows):
    url, _ = runtime
    assert get_json(f"{url}/v2/health/live") == (200, {"live": True})
    status, meta = get_json(f"{url}/v2/models/credit-risk")
    assert status == 200 and meta["versions"] == ["run-1"] and meta["parameters"]["traffic"] == {"run-1": 100}
    assert {"name": "home_ownership", "datatype": "BYTES", "shape": [-1]} in meta["inputs"]
    assert get_json(f"{url}/v2/models/credit-risk/versions/run-1/ready")[0] == 200
    assert get_json(f"{url}/v2/models/other")[0] == 404
    assert post_json(f"{url}/v2/models/credit-risk/versions/run-0/infer", infer_body(sample_rows[0], "x"))[0] == 404
    row = {k: v for k, v in sample_rows[0].items() if k != "annual_income"}
    status, error = post_json(f"{url}/v2/models/credit-risk/infer", infer_body(row, "missing"))
    assert status == 400 and "annual_income" in error["error"]
    status, stats = get_json(f"{url}/v2/models/credit-risk/stats")
    assert status == 200 and stats["versions"]["run-1"]["client_errors"] == 1


def test_runtime_stops_gracefully_on_sigterm(model_dirs, sample_rows):
    """The kubelet's SIGTERM: the server stops accepting, finishes, and the process exits 0 without a traceback."""
    proc, url = _start(model_dirs["a"])
    _wait_ready(proc, url)
    assert post_json(f"{url}/v2/models/credit-risk/infer", infer_body(sample_rows[0], "before-stop"))[0] == 200
    proc.terminate()
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert '"id": "before-stop"' in out, "the request log goes to the container's stdout"


def test_runtime_refuses_bytes_other_than_the_deployed_sha256(model_dirs):
    proc, _ = _start(model_dirs["a"], "--expected-sha256", artifact_sha256(model_dirs["b"]))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "refusing to serve other bytes" in err and artifact_sha256(model_dirs["b"]) in err


def test_runtime_refuses_a_directory_that_is_not_a_model(tmp_path):
    (tmp_path / "README").write_text("not a model")
    proc, _ = _start(tmp_path)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "cannot load credit-risk" in err


@pytest.mark.slow
def test_runtime_serves_a_model_the_training_step_wrote(trained_model, training_data, tmp_path):
    """End to end: the training step's real output directory, served by the runtime, answers like mlops serve."""
    from pipelines.serving.deploy import probe_rows

    rows = probe_rows(training_data["dataset"], limit=8)
    proc, url = _start(Path(trained_model), "--model-version", "run-trained")
    try:
        _wait_ready(proc, url)
        registry = LocalRegistry(tmp_path / "registry")
        registry.register("credit-risk", trained_model)
        registry.start_rollout("credit-risk", "v1", "canary", 10)
        local = ServingApp(registry, tmp_path / "requests.jsonl")
        for i, row in enumerate(rows):
            status, remote = post_json(f"{url}/v2/models/credit-risk/infer", infer_body(row, f"t-{i}"))
            assert status == 200, remote
            assert remote["outputs"] == local.infer("credit-risk", infer_body(row, f"t-{i}"))[1]["outputs"]
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_image_carries_everything_the_runtime_imports(model_dirs, tmp_path):
    """The Dockerfile's COPY lines, replayed into a directory: the runtime loads a model from that code alone and
    imports no library the image does not install (Feast, KFP, Pulumi, ...)."""
    import json
    import shutil

    root = tmp_path / "image"
    for line in (REPO / "pipelines/serving/Dockerfile").read_text().splitlines():
        if not line.startswith("COPY ") or "constraints.txt" in line:
            continue
        *sources, dest = line.split()[1:]
        target = root / dest.lstrip("/")
        for source in sources:
            path = REPO / source
            if path.is_dir():
                shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, target / path.name)
    code = (
        "import json, sys; from pipelines.serving import runtime; "
        f"app = runtime.build_app('credit-risk', {str(model_dirs['a'])!r}, request_log={str(tmp_path / 'r')!r}); "
        "print(json.dumps({'file': runtime.__file__, 'modules': sorted({m.split('.')[0] for m in sys.modules})}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(root / "opt/mlops")},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["file"].startswith(str(root))
    assert {"torch", "numpy", "pandas"} <= set(loaded["modules"])
    # (pyarrow is not checked: pandas imports it whenever it is installed, as here but not in the image)
    assert {"feast", "kfp", "pulumi", "duckdb", "kubernetes", "requests"} & set(loaded["modules"]) == set()


def test_the_directory_model_refuses_bytes_that_changed_after_it_opened(model_dirs, tmp_path):
    """ServingApp verifies a version before it loads it; the one-version view must check the bytes as the local
    registry does (its verify used to return the version unchecked)."""
    import shutil

    from pipelines.registry import RegistryError
    from pipelines.serving.runtime import DirectoryModel

    model_dir = shutil.copytree(model_dirs["a"], tmp_path / "model")
    model = DirectoryModel.open("credit-risk", model_dir, "v1")
    assert model.verify("credit-risk", "v1").sha256 == artifact_sha256(model_dir)
    shutil.copyfile(model_dirs["b"] / "model.pt", model_dir / "model.pt")
    with pytest.raises(RegistryError, match="refusing to serve other bytes"):
        model.verify("credit-risk", "v1")

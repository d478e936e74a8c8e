"""Training: one process (:func:`train_trial`) or several ranks under torchrun (:func:`train_distributed`); both
fit the preprocessor on the train split, train with checkpoints and save the best model the same way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections import deque
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

MODEL_FILE, PREPROCESSOR_FILE, SUMMARY_FILE = "model.pt", "preprocessor.json", "summary.json"
SPEC_FIELDS = {"dataset", "hyperparams", "model_dir", "checkpoint", "device"}
"""What the torchrun worker (:mod:`pipelines.ml.ddp_worker`) reads from its JSON spec."""
LOG_TAIL_LINES = 40


def train_trial(
    dataset_path: str, hyperparams: dict, model_dir: str, checkpoint_dir: str | None, device: str = "auto"
) -> dict:
    """Train one configuration and write ``model.pt`` (weights + architecture), the preprocessor and a summary."""
    return fit_and_save(dataset_path, hyperparams, model_dir, checkpoint_dir, device)


def fit_and_save(
    dataset_path: str,
    hyperparams: dict,
    model_dir: str,
    checkpoint: str | None,
    device: str = "auto",
    extra_summary: dict | None = None,
) -> dict:
    """Train on every rank; rank 0 (the only process without a process group) writes the model directory.

    ``dataset_path``, ``model_dir`` and ``checkpoint`` may be local/PVC paths or object-store URIs; ``summary.json``
    is written last, so its presence marks a complete model directory.
    """
    import io

    import pandas as pd
    import torch

    from pipelines.ml import checkpoints
    from pipelines.ml.data import Preprocessor, labels, split_of
    from pipelines.ml.train import HyperParams, _distributed, train

    params = HyperParams.coerce(**hyperparams)
    fs, path = checkpoints.filesystem(dataset_path)
    with fs.open(path, "rb") as fh:
        frame = pd.read_parquet(fh)
    split = split_of(frame)
    pre = Preprocessor.fit(frame[split == "train"])
    model, result = train(
        pre.transform(frame[split == "train"]),
        labels(frame[split == "train"]),
        pre.transform(frame[split == "val"]),
        labels(frame[split == "val"]),
        params,
        checkpoint=checkpoint,
        device=device,
    )
    summary = {"hyperparams": asdict(params), "trial_key": params.key(), **asdict(result), **(extra_summary or {})}
    if _distributed()[0] == 0:
        buffer = io.BytesIO()
        torch.save(
            {
                "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
                "n_inputs": len(pre.input_names),
                "hidden": params.hidden,
                "layers": params.layers,
                "dropout": params.dropout,
            },
            buffer,
        )
        checkpoints.write_bytes(model_dir, MODEL_FILE, buffer.getvalue())
        checkpoints.write_bytes(model_dir, PREPROCESSOR_FILE, pre.to_json().encode())
        checkpoints.write_bytes(model_dir, SUMMARY_FILE, json.dumps(summary, indent=2).encode())
    return summary


def torchrun_command(spec_path: str, nproc: int) -> list[str]:
    """The local launch: torchrun (standalone rendezvous) running the worker module on ``nproc`` ranks."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        "-m",
        "pipelines.ml.ddp_worker",
        spec_path,
    ]


def write_spec(
    path: str | Path, dataset_path: str, hyperparams: dict, model_dir: str, checkpoint: str | None, device: str = "auto"
) -> str:
    spec = {
        "dataset": dataset_path,
        "hyperparams": hyperparams,
        "model_dir": model_dir,
        "checkpoint": checkpoint,
        "device": device,
    }
    Path(path).write_text(json.dumps(spec, indent=2))
    return str(path)


def train_distributed(
    dataset_path: str,
    hyperparams: dict,
    model_dir: str,
    checkpoint_location: str | None,
    nproc: int,
    device: str = "auto",
) -> dict:
    """Train on ``nproc`` ranks of this machine under torchrun and return rank 0's summary.

    torchrun runs in its own process group, so it and its workers are killed with the caller (SIGKILL to the group
    on any exception or interrupt here; the kernel kills torchrun if the caller dies). Output is streamed; a non-zero
    exit raises naming the failed rank, its exit code and the last log lines. A rerun with the same
    ``checkpoint_location`` resumes from its last checkpoint.
    """
    if int(nproc) < 1:
        raise ValueError(f"nproc must be at least 1, got {nproc!r}")
    with tempfile.TemporaryDirectory(prefix="mlops-ddp-") as tmp:
        spec = write_spec(Path(tmp) / "spec.json", dataset_path, hyperparams, model_dir, checkpoint_location, device)
        run_streamed(torchrun_command(spec, int(nproc)))
    from pipelines.ml import checkpoints

    raw = checkpoints.read_bytes(model_dir, SUMMARY_FILE)
    if raw is None:
        raise RuntimeError(f"torchrun exited 0 but rank 0 wrote no {SUMMARY_FILE} under {model_dir}")
    return json.loads(raw)


def run_streamed(command: list[str], cwd: str | None = None) -> None:
    """Run ``command`` in its own process group, echo its output line by line, raise a clear error on failure."""
    import re

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")])
    )
    from pipelines.ml.ddp_worker import FAILURE_PREFIX

    tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
    failures: list[str] = []
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=cwd,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent(),  # noqa: PLW1509 - one prctl(2) call; libc is loaded before the fork
    )
    assert proc.stdout is not None  # stdout=PIPE
    try:
        for line in proc.stdout:
            sys.stdout.write(line)
            tail.append(line.rstrip("\n"))
            if line.startswith(FAILURE_PREFIX):
                failures.append(line.strip())
        code = proc.wait()
    except BaseException:
        _kill_group(proc)
        raise
    finally:
        proc.stdout.close()
    if code != 0:
        _kill_group(proc)  # stray workers of a failed launch
        text = "\n".join(tail)
        root_cause = text.rsplit("Root Cause", 1)[-1]  # torchrun's report: the first rank that failed
        ranks = re.findall(r"rank\s*:\s*(\d+)", root_cause)
        codes = re.findall(r"exitcode\s*:\s*(-?\d+)", root_cause)
        where = (
            f"rank {ranks[0]} failed with exit code {codes[0]}" if ranks and codes else "no rank reported its failure"
        )
        errors = "".join(f"\n  {f}" for f in failures[:8])
        raise RuntimeError(
            f"distributed training failed: torchrun exited with {code} ({where}){errors}\nlast "
            f"{len(tail)} log lines:\n{text}"
        )


def _die_with_parent() -> Callable[[], object] | None:
    """Linux: a pre-exec hook that gives the launcher SIGKILL when the process that started it dies. libc is loaded
    here, before the fork, so the child runs only the one prctl(2) call."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    return lambda: prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def train_for_pipeline(
    dataset_path: str,
    hyperparams: dict,
    model_path: str,
    checkpoint_root: str,
    run_id: str,
    backend: str,
    processes: int,
    num_nodes: int,
    gpus_per_node: int,
    interconnect: str,
    training_image: str,
    device: str,
) -> dict:
    """The KFP training step: train ``hyperparams`` data-parallel and leave the model in ``model_path``.

    ``backend``: "local" runs ``processes`` torchrun ranks in this pod; "kubeflow" submits a TrainJob of
    ``num_nodes`` x ``gpus_per_node`` ranks (``interconnect``: "", "efa" or "infiniband") running ``training_image``.
    Everything lives under ``checkpoint_root/run_id/<hyperparameter key>/``: ``checkpoints/`` (a retried step
    resumes there), and for "kubeflow" the dataset and spec the ranks read and ``model/`` that rank 0 writes, which
    is copied into ``model_path``. ``checkpoint_root`` is a PVC path or, on the cloud stacks, an object-store URI
    (s3://, az://, abfs://) that both this pod and the TrainJob's pods can reach.
    """
    from pipelines.ml import checkpoints
    from pipelines.ml.train import HyperParams

    if backend not in ("local", "kubeflow"):
        raise ValueError(f"backend {backend!r} is not one of 'local', 'kubeflow'")
    if not checkpoint_root:
        raise ValueError("checkpoint_root is required: a PVC path or an object-store URI for checkpoints")
    key = HyperParams.coerce(**hyperparams).key()
    root = checkpoints.join(checkpoint_root, run_id, key)
    if backend == "local":
        return train_distributed(
            dataset_path, hyperparams, model_path, checkpoints.join(root, "checkpoints"), processes, device
        )
    from pipelines.steps.trainjob import build_trainjob, current_namespace, kubernetes_apis, run_trainjob, trainjob_name

    with open(dataset_path, "rb") as fh:  # the ranks cannot see this pod's artifact: stage it beside the run
        checkpoints.write_bytes(root, "dataset.parquet", fh.read())
    model_dir = checkpoints.join(root, "model")
    spec = {
        "dataset": checkpoints.join(root, "dataset.parquet"),
        "hyperparams": hyperparams,
        "model_dir": model_dir,
        "checkpoint": checkpoints.join(root, "checkpoints"),
        "device": device,
    }
    checkpoints.write_bytes(root, "spec.json", json.dumps(spec, indent=2).encode())
    manifest = build_trainjob(
        trainjob_name(run_id, key),
        current_namespace(),
        training_image,
        checkpoints.join(root, "spec.json"),
        num_nodes=num_nodes,
        gpus_per_node=gpus_per_node,
        interconnect=interconnect,
        labels={"mlops.platform/run-id": run_id[:63].strip("-_.") or "none"},
    )
    run_trainjob(manifest, *kubernetes_apis())
    checkpoints.copy_dir(model_dir, model_path)
    return json.loads(Path(model_path, SUMMARY_FILE).read_text())


def load_model(model_dir: str):
    """The trained model (eval mode, CPU) and its preprocessor, from a directory :func:`train_trial` wrote."""
    import torch

    from pipelines.ml.data import Preprocessor
    from pipelines.ml.model import CreditRiskMLP

    saved = torch.load(Path(model_dir) / MODEL_FILE, map_location="cpu", weights_only=True)
    model = CreditRiskMLP(saved["n_inputs"], saved["hidden"], saved["layers"], saved["dropout"])
    model.load_state_dict(saved["state_dict"])
    model.eval()
    return model, Preprocessor.from_json((Path(model_dir) / PREPROCESSOR_FILE).read_text())

"""Distributed training: DDP parity with one process, kill-and-resume under torchrun, durable checkpoints (sha256
manifest, weights_only loading, object-store code path on fsspec's memory:// filesystem)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from pipelines.ml import checkpoints
from pipelines.ml.checkpoints import CheckpointError

REPO = Path(__file__).resolve().parents[2]


def _payload(epoch: int) -> dict:
    return {
        "model": {"w": torch.full((3,), float(epoch))},
        "state": {"epoch": epoch, "history": [{"ok": True}]},
        "params": {"lr": 0.1},
        "opt": {"param_groups": [{"betas": (0.9, 0.999), "foreach": None}]},
    }


@pytest.fixture(params=["local", "memory"])
def location(request, tmp_path):
    if request.param == "local":
        yield str(tmp_path / "ckpt")
        return
    loc = f"memory://ckpt-test-{os.getpid()}-{time.monotonic_ns()}"
    yield loc
    fs, root = checkpoints.filesystem(loc)
    fs.rm(root, recursive=True)


def test_checkpoints_round_trip_keep_one_payload_and_load_weights_only(location):
    assert checkpoints.load(location) is None
    checkpoints.save(location, 1, _payload(1))
    checkpoints.save(location, 2, _payload(2))
    fs, root = checkpoints.filesystem(location)
    assert sorted(p.rsplit("/", 1)[-1] for p in fs.ls(root, detail=False)) == ["ckpt-000002.pt", "manifest.json"]
    loaded = checkpoints.load(location)
    assert loaded["state"]["epoch"] == 2 and torch.equal(loaded["model"]["w"], torch.full((3,), 2.0))


def test_a_tampered_checkpoint_is_refused(location):
    checkpoints.save(location, 1, _payload(1))
    fs, root = checkpoints.filesystem(location)
    evil = _payload(7)
    import io

    buffer = io.BytesIO()
    torch.save(evil, buffer)
    fs.pipe_file(f"{root}/ckpt-000001.pt", buffer.getvalue())  # replaced behind the manifest's back
    with pytest.raises(CheckpointError, match="does not match its manifest.*refusing"):
        checkpoints.load(location)


def test_a_truncated_or_missing_payload_is_refused(location):
    checkpoints.save(location, 1, _payload(1))
    fs, root = checkpoints.filesystem(location)
    fs.pipe_file(f"{root}/ckpt-000001.pt", fs.cat_file(f"{root}/ckpt-000001.pt")[:100])
    with pytest.raises(CheckpointError, match="does not match its manifest"):
        checkpoints.load(location)
    fs.rm_file(f"{root}/ckpt-000001.pt")
    with pytest.raises(CheckpointError, match="which is missing"):
        checkpoints.load(location)


def test_a_payload_written_without_its_manifest_is_ignored_in_favour_of_the_previous_good_one(location):
    """A crash between the payload PUT and the manifest PUT: the old manifest still names the old payload."""
    checkpoints.save(location, 1, _payload(1))
    checkpoints.write_bytes(location, "ckpt-000002.pt", b"half-written")
    assert checkpoints.load(location)["state"]["epoch"] == 1


def test_a_payload_that_needs_pickle_is_refused_at_save_and_at_load(location, tmp_path):
    with pytest.raises(CheckpointError, match="not weights_only-loadable"):
        checkpoints.save(location, 1, {"thing": Path("x")})
    # A pickled object behind a matching manifest (what an attacker controlling both could write) is still refused.
    import hashlib
    import io

    buffer = io.BytesIO()
    torch.save({"thing": Path("/etc/passwd")}, buffer)
    data = buffer.getvalue()
    checkpoints.write_bytes(location, "ckpt-000001.pt", data)
    checkpoints.write_bytes(
        location,
        checkpoints.MANIFEST,
        json.dumps(
            {
                "format": 1,
                "payload": "ckpt-000001.pt",
                "epoch": 1,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        ).encode(),
    )
    with pytest.raises(CheckpointError, match="weights_only=True"):
        checkpoints.load(location)


def test_unsupported_schemes_and_missing_object_store_packages_fail_closed(monkeypatch):
    with pytest.raises(CheckpointError, match=r"scheme gs:// is not supported.*s3://"):
        checkpoints.filesystem("gs://bucket/ckpt")
    monkeypatch.setitem(checkpoints.OBJECT_STORE_PROTOCOLS, "az", ("adlfs_not_installed", "adlfs==2026.8.0"))
    with pytest.raises(CheckpointError, match=r"needs the adlfs_not_installed package.*pip install adlfs==2026.8.0"):
        checkpoints.filesystem("az://container/ckpt")


def test_azure_locations_resolve_to_their_fsspec_implementation(monkeypatch):
    import adlfs

    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", "mlopsmodels")  # construction needs an account, not a call
    fs, root = checkpoints.filesystem("abfs://models/run-1/ckpt")
    assert isinstance(fs, adlfs.AzureBlobFileSystem) and root == "models/run-1/ckpt"


def test_a_missing_object_store_library_fails_closed_naming_the_pin(monkeypatch):
    """s3fs lives in the training image (its aiobotocore pins clash with the dev environment's botocore)."""
    import sys

    monkeypatch.setitem(sys.modules, "s3fs", None)  # import s3fs -> ImportError
    with pytest.raises(checkpoints.CheckpointError, match=r"needs the s3fs package .* pip install s3fs=="):
        checkpoints.filesystem("s3://models/run-1/ckpt")


# --- torchrun on CPU (gloo) -------------------------------------------------------------------------------------


def _test_auc(dataset: str, model_dir: str) -> float:
    from pipelines.ml.data import labels, split_of
    from pipelines.ml.metrics import roc_auc
    from pipelines.ml.model import predict_proba
    from pipelines.steps.train import load_model

    frame = pd.read_parquet(dataset)
    test = frame[split_of(frame) == "test"]
    model, pre = load_model(model_dir)
    return roc_auc(labels(test), predict_proba(model, pre.transform(test)))


@pytest.mark.slow
def test_two_gloo_ranks_match_one_process_in_model_quality(training_data, tmp_path):
    from pipelines.steps.train import train_distributed, train_trial

    params = {"max_epochs": 8, "patience": 8, "hidden": 32, "batch_size": 128, "seed": 3}
    one = train_trial(training_data["dataset"], params, str(tmp_path / "one"), None, "cpu")
    two = train_distributed(training_data["dataset"], params, str(tmp_path / "two"), None, nproc=2, device="cpu")
    assert one["world_size"] == 1 and two["world_size"] == 2 and two["backend"] == "gloo"
    assert two["epochs_run"] == 8
    auc_one, auc_two = (
        _test_auc(training_data["dataset"], str(tmp_path / "one")),
        _test_auc(training_data["dataset"], str(tmp_path / "two")),
    )
    print(
        f"held-out AUC: 1 process {auc_one:.4f}, 2 gloo ranks {auc_two:.4f}; best val loss "
        f"{one['best_val_loss']:.4f} vs {two['best_val_loss']:.4f}"
    )
    assert auc_one > 0.6 and abs(auc_one - auc_two) < 0.01


@pytest.mark.slow
def test_a_killed_torchrun_resumes_from_its_checkpoint_and_matches_an_uninterrupted_run(training_data, tmp_path):
    from pipelines.steps.train import MODEL_FILE, torchrun_command, train_distributed, write_spec

    # Small batches make an epoch long enough (many gloo all-reduces) to be killed in the middle of one.
    params = {"max_epochs": 5, "patience": 10, "hidden": 16, "batch_size": 16, "seed": 5}
    ckpt = str(tmp_path / "ckpt")
    spec = write_spec(tmp_path / "spec.json", training_data["dataset"], params, str(tmp_path / "killed"), ckpt, "cpu")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        torchrun_command(spec, 2),
        cwd=REPO,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        while (checkpoints.load(ckpt) or {}).get("state", {}).get("epoch", 0) < 1:
            assert proc.poll() is None, "training ended before it could be killed"
            assert time.monotonic() < deadline, "no checkpoint within 240 s"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher and both ranks, mid-epoch
        proc.wait()
    killed_at = checkpoints.load(ckpt)["state"]["epoch"]
    assert 1 <= killed_at < params["max_epochs"] and not (tmp_path / "killed" / MODEL_FILE).exists()

    resumed = train_distributed(training_data["dataset"], params, str(tmp_path / "resumed"), ckpt, 2, "cpu")
    reference = train_distributed(
        training_data["dataset"], params, str(tmp_path / "reference"), str(tmp_path / "ckpt-ref"), 2, "cpu"
    )
    assert resumed["resumed_from_epoch"] == killed_at > 0 and reference["resumed_from_epoch"] == 0
    assert resumed["epochs_run"] == reference["epochs_run"] == params["max_epochs"]
    a = torch.load(tmp_path / "resumed" / MODEL_FILE, weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "reference" / MODEL_FILE, weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.allclose(a[k].float(), b[k].float()) for k in a)
    assert resumed["history"] == reference["history"]


@pytest.mark.slow
def test_a_failing_rank_is_reported_with_its_exit_code_and_log(tmp_path):
    from pipelines.steps.train import train_distributed

    with pytest.raises(
        RuntimeError,
        match=r"torchrun exited with 1 \(rank \d failed with exit code 1\)\n"
        r"  ddp_worker rank \d failed: FileNotFoundError: .*no-such-dataset",
    ):
        train_distributed(
            str(tmp_path / "no-such-dataset.parquet"),
            {"max_epochs": 1},
            str(tmp_path / "m"),
            None,
            nproc=2,
            device="cpu",
        )


def test_the_worker_refuses_to_run_outside_torchrun_and_a_malformed_spec(tmp_path, monkeypatch):
    from pipelines.ml.ddp_worker import WorkerError, main, read_spec

    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(WorkerError, match="start this module with torchrun"):
        main([str(tmp_path / "spec.json")])
    (tmp_path / "spec.json").write_text(json.dumps({"dataset": "x"}))
    with pytest.raises(WorkerError, match="must hold exactly the fields"):
        read_spec(str(tmp_path / "spec.json"))
    with pytest.raises(WorkerError, match="does not exist"):
        read_spec(str(tmp_path / "missing.json"))


def test_training_resumes_from_an_object_store_checkpoint(training_data, tmp_path):
    """The single-process loop writes and resumes through the object-store code path (memory://)."""
    from pipelines.ml.data import Preprocessor, labels, split_of
    from pipelines.ml.train import HyperParams, train

    frame = pd.read_parquet(training_data["dataset"])
    split = split_of(frame)
    pre = Preprocessor.fit(frame[split == "train"])
    arrays = (
        pre.transform(frame[split == "train"]),
        labels(frame[split == "train"]),
        pre.transform(frame[split == "val"]),
        labels(frame[split == "val"]),
    )
    location = f"memory://resume-{time.monotonic_ns()}"
    params = HyperParams(max_epochs=3, patience=10, hidden=16, batch_size=256)
    reference, _ = train(*arrays, params, device="cpu")

    def stop_after_two(record):
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(*arrays, params, checkpoint=location, device="cpu", on_epoch=stop_after_two)
    resumed, result = train(*arrays, params, checkpoint=location, device="cpu")
    assert result.resumed_from_epoch == 2
    assert all(np.array_equal(a, b) for a, b in zip(reference.state_dict().values(), resumed.state_dict().values()))

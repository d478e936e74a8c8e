"""Training loop: seeded, deterministic on CPU, mixed precision on CUDA, a checkpoint every epoch, resume, early stop;
data-parallel (DDP) across the ranks of an initialised process group.

A checkpoint holds everything needed to continue bit-for-bit on CPU (model, optimizer, best weights, patience,
epoch); a retried step that finds one resumes after the last finished epoch instead of starting over. Checkpoints
are written and verified by :mod:`pipelines.ml.checkpoints` (local/PVC path or object store, sha256 manifest,
``weights_only`` loading).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from pipelines.ml.model import CreditRiskMLP


@dataclass(frozen=True)
class HyperParams:
    learning_rate: float = 3e-3
    hidden: int = 64
    layers: int = 2
    dropout: float = 0.1
    batch_size: int = 512
    weight_decay: float = 1e-4
    max_epochs: int = 20
    patience: int = 3
    seed: int = 42

    @classmethod
    def coerce(cls, **values) -> HyperParams:
        """From pipeline values, where collected/JSON ints may arrive as floats (``64.0``)."""
        ints = {"hidden", "layers", "batch_size", "max_epochs", "patience", "seed"}
        out: dict[str, Any] = {}
        for k, v in values.items():
            if k in ints:
                if float(v) != int(float(v)):
                    raise ValueError(f"hyperparameter {k} must be a whole number, got {v!r}")
                out[k] = int(float(v))
            else:
                out[k] = float(v)
        return cls(**out)

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class TrainResult:
    best_val_loss: float
    best_epoch: int
    epochs_run: int
    stopped_early: bool
    resumed_from_epoch: int
    device: str
    mixed_precision: bool
    samples_per_second: float
    history: list[dict] = field(default_factory=list)
    world_size: int = 1


def pick_device(requested: str = "auto") -> str:
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but torch sees no CUDA device")
    return requested


def seed_everything(seed: int, device: str) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    if device == "cpu":
        torch.use_deterministic_algorithms(True)


def train(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    params: HyperParams,
    checkpoint: Path | str | None = None,
    device: str = "auto",
    on_epoch: Callable[[dict], None] | None = None,
) -> tuple[nn.Module, TrainResult]:
    """Train and return the best model (lowest validation loss) with a summary; resumes from ``checkpoint`` (a
    location for :mod:`pipelines.ml.checkpoints`).

    Under an initialised ``torch.distributed`` process group every rank calls this with the same data: the model is
    wrapped in DistributedDataParallel, each global batch of ``batch_size`` rows (the same deterministic permutation
    as one process) is split across the ranks, losses are averaged over all ranks, only rank 0 writes checkpoints,
    and every rank resumes from the same checkpoint. BatchNorm becomes SyncBatchNorm on CUDA (statistics over the
    global batch); on CPU, where torch's SyncBatchNorm refuses to run, each rank normalises its share of the batch
    and rank 0's running statistics are broadcast before every forward pass and before evaluation.
    """
    from pipelines.ml import checkpoints

    rank, world = _distributed()
    device = pick_device(device)
    seed_everything(params.seed, device)
    net = CreditRiskMLP(x_train.shape[1], params.hidden, params.layers, params.dropout)
    if world > 1 and device.startswith("cuda"):
        net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    net = net.to(device)
    optimizer = torch.optim.AdamW(net.parameters(), lr=params.learning_rate, weight_decay=params.weight_decay)
    amp = device.startswith("cuda")
    amp_dtype = torch.bfloat16 if amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=amp and amp_dtype == torch.float16)
    loss_fn = nn.BCEWithLogitsLoss()  # unweighted, so predicted probabilities stay calibrated

    state: dict[str, Any] = {
        "epoch": 0,
        "best_val_loss": float("inf"),
        "best_epoch": 0,
        "bad_epochs": 0,
        "history": [],
        "best_state": None,
    }
    resumed_from = 0
    saved = checkpoints.load(checkpoint, map_location=device) if checkpoint else None
    if saved is not None:
        if saved["params"] != asdict(params):
            raise ValueError(f"checkpoint {checkpoint} belongs to other hyperparameters: {saved['params']}")
        net.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scaler.load_state_dict(saved["scaler"])
        state = saved["state"]
        resumed_from = state["epoch"]
    model: nn.Module = net
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(net, device_ids=[torch.device(device).index] if amp else None)

    xt = torch.as_tensor(x_train, device=device)
    yt = torch.as_tensor(y_train, device=device)
    xv, yv = (torch.as_tensor(a, device=device).tensor_split(world)[rank] for a in (x_val, y_val))
    samples, seconds = 0, 0.0
    while state["epoch"] < params.max_epochs and state["bad_epochs"] < params.patience:
        epoch = state["epoch"] + 1
        # The shuffle depends on (seed, epoch) only, so a resumed run sees the same batches as an uninterrupted one,
        # and every rank draws the same permutation.
        order = torch.randperm(len(xt), generator=torch.Generator().manual_seed(params.seed * 10_007 + epoch))
        order = order.to(device)
        torch.manual_seed(params.seed * 7_919 + epoch + rank * 1_000_003)  # dropout masks, distinct per rank
        model.train()
        t0 = time.perf_counter()
        train_loss = torch.zeros(2, dtype=torch.float64, device=device)  # sum of loss * rows, rows (this rank)
        for i in range(0, len(order), params.batch_size):
            batch = order[i : i + params.batch_size]
            if len(batch) < 2 * world:  # BatchNorm needs two samples on every rank; all ranks skip alike
                continue
            idx = batch.tensor_split(world)[rank]
            with torch.autocast(device_type="cuda", dtype=amp_dtype, enabled=amp):
                loss = loss_fn(model(xt[idx]).float(), yt[idx])
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            train_loss += torch.stack([loss.detach().double() * len(idx), torch.tensor(len(idx), device=device)])
        if amp:
            torch.cuda.synchronize()
        seconds += time.perf_counter() - t0
        samples += len(order)
        if world > 1:
            _broadcast_buffers(net)
        val_sum = _evaluate_loss_sum(net, loss_fn, xv, yv, amp, amp_dtype)
        train_sum, val_sum = _all_sum(train_loss), _all_sum(val_sum)
        val_loss = float(val_sum[0] / val_sum[1]) if val_sum[1] else float("inf")
        improved = val_loss < state["best_val_loss"] - 1e-5
        if improved:
            state.update(
                best_val_loss=val_loss,
                best_epoch=epoch,
                bad_epochs=0,
                best_state={k: v.detach().cpu().clone() for k, v in net.state_dict().items()},
            )
        else:
            state["bad_epochs"] += 1
        record = {
            "epoch": epoch,
            "train_loss": float(train_sum[0] / max(float(train_sum[1]), 1.0)),
            "val_loss": val_loss,
            "improved": improved,
        }
        state["history"].append(record)
        state["epoch"] = epoch
        if checkpoint and rank == 0:
            checkpoints.save(
                checkpoint,
                epoch,
                {
                    "params": asdict(params),
                    "model": net.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scaler": scaler.state_dict(),
                    "state": state,
                },
            )
        if world > 1:
            torch.distributed.barrier()  # no rank runs ahead of a checkpoint that rank 0 has not finished
        if on_epoch:
            on_epoch(record)

    if state["best_state"] is not None:
        net.load_state_dict(state["best_state"])
    net.eval()
    return net, TrainResult(
        best_val_loss=state["best_val_loss"],
        best_epoch=state["best_epoch"],
        epochs_run=state["epoch"],
        stopped_early=state["bad_epochs"] >= params.patience and state["epoch"] < params.max_epochs,
        resumed_from_epoch=resumed_from,
        device=device,
        mixed_precision=amp,
        samples_per_second=samples / seconds if seconds else 0.0,
        history=state["history"],
        world_size=world,
    )


def _distributed() -> tuple[int, int]:
    """(rank, world size) of the initialised process group; (0, 1) without one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _broadcast_buffers(net: nn.Module) -> None:
    """Give every rank rank 0's BatchNorm running statistics, so all ranks evaluate and save the same model."""
    import torch.distributed as dist

    for buffer in net.buffers():
        dist.broadcast(buffer, src=0)


def _all_sum(values: torch.Tensor) -> torch.Tensor:
    """Sum over all ranks (identity in one process)."""
    import torch.distributed as dist

    if _distributed()[1] > 1:
        values = values.clone()
        dist.all_reduce(values)
    return values


def _evaluate_loss_sum(model, loss_fn, xv, yv, amp, amp_dtype) -> torch.Tensor:
    """(sum of the loss over this rank's validation rows, their count), for averaging across ranks."""
    model.eval()
    with torch.no_grad(), torch.autocast(device_type="cuda", dtype=amp_dtype, enabled=amp):
        loss = loss_fn(model(xv).float(), yv).double() * len(xv) if len(xv) else torch.zeros((), dtype=torch.float64)
    return torch.stack([loss.to(xv.device), torch.tensor(float(len(xv)), dtype=torch.float64, device=xv.device)])

"""Training loop: seeded, deterministic on CPU, mixed precision on CUDA, a checkpoint every epoch, resume, early stop.

A checkpoint holds everything needed to continue bit-for-bit on CPU (model, optimizer, best weights, patience,
epoch); a retried step that finds one resumes after the last finished epoch instead of starting over.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from pipelines.ml.model import CreditRiskMLP

CHECKPOINT = "last.pt"


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
    def coerce(cls, **values) -> "HyperParams":
        """From pipeline values, where collected/JSON ints may arrive as floats (``64.0``)."""
        ints = {"hidden", "layers", "batch_size", "max_epochs", "patience", "seed"}
        out = {}
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


def pick_device(requested: str = "auto") -> str:
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but torch sees no CUDA device")
    return requested


def seed_everything(seed: int, device: str) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    if device == "cpu":
        torch.use_deterministic_algorithms(True)


def train(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, params: HyperParams,
          checkpoint_dir: Path | str | None = None, device: str = "auto",
          on_epoch: Callable[[dict], None] | None = None) -> tuple[nn.Module, TrainResult]:
    """Train and return the best model (lowest validation loss) with a summary; resumes from ``checkpoint_dir``."""
    device = pick_device(device)
    seed_everything(params.seed, device)
    model = CreditRiskMLP(x_train.shape[1], params.hidden, params.layers, params.dropout).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=params.learning_rate, weight_decay=params.weight_decay)
    amp = device == "cuda"
    amp_dtype = torch.bfloat16 if amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=amp and amp_dtype == torch.float16)
    loss_fn = nn.BCEWithLogitsLoss()  # unweighted, so predicted probabilities stay calibrated

    state = {"epoch": 0, "best_val_loss": float("inf"), "best_epoch": 0, "bad_epochs": 0, "history": [],
             "best_state": None}
    ckpt_path = Path(checkpoint_dir) / CHECKPOINT if checkpoint_dir else None
    resumed_from = 0
    if ckpt_path and ckpt_path.exists():
        saved = torch.load(ckpt_path, map_location=device, weights_only=False)
        if saved["params"] != asdict(params):
            raise ValueError(f"checkpoint {ckpt_path} belongs to other hyperparameters: {saved['params']}")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scaler.load_state_dict(saved["scaler"])
        state = saved["state"]
        resumed_from = state["epoch"]

    xt = torch.as_tensor(x_train, device=device)
    yt = torch.as_tensor(y_train, device=device)
    xv = torch.as_tensor(x_val, device=device)
    yv = torch.as_tensor(y_val, device=device)
    samples, seconds = 0, 0.0
    while state["epoch"] < params.max_epochs and state["bad_epochs"] < params.patience:
        epoch = state["epoch"] + 1
        # The shuffle depends on (seed, epoch) only, so a resumed run sees the same batches as an uninterrupted one.
        order = torch.randperm(len(xt), generator=torch.Generator().manual_seed(params.seed * 10_007 + epoch))
        order = order.to(device)
        torch.manual_seed(params.seed * 7_919 + epoch)  # dropout masks
        model.train()
        t0 = time.perf_counter()
        train_loss = 0.0
        for i in range(0, len(order), params.batch_size):
            idx = order[i:i + params.batch_size]
            if len(idx) < 2:  # BatchNorm needs two samples
                continue
            with torch.autocast(device_type="cuda", dtype=amp_dtype, enabled=amp):
                loss = loss_fn(model(xt[idx]).float(), yt[idx])
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            train_loss += float(loss.detach()) * len(idx)
        if device == "cuda":
            torch.cuda.synchronize()
        seconds += time.perf_counter() - t0
        samples += len(order)
        val_loss = _evaluate_loss(model, loss_fn, xv, yv, amp, amp_dtype)
        improved = val_loss < state["best_val_loss"] - 1e-5
        if improved:
            state.update(best_val_loss=val_loss, best_epoch=epoch, bad_epochs=0,
                         best_state={k: v.detach().cpu().clone() for k, v in model.state_dict().items()})
        else:
            state["bad_epochs"] += 1
        record = {"epoch": epoch, "train_loss": train_loss / max(len(order), 1), "val_loss": val_loss,
                  "improved": improved}
        state["history"].append(record)
        state["epoch"] = epoch
        if ckpt_path:
            _save_checkpoint(ckpt_path, {"params": asdict(params), "model": model.state_dict(),
                                         "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(),
                                         "state": state})
        if on_epoch:
            on_epoch(record)

    if state["best_state"] is not None:
        model.load_state_dict(state["best_state"])
    model.eval()
    return model, TrainResult(
        best_val_loss=state["best_val_loss"], best_epoch=state["best_epoch"], epochs_run=state["epoch"],
        stopped_early=state["bad_epochs"] >= params.patience and state["epoch"] < params.max_epochs,
        resumed_from_epoch=resumed_from, device=device, mixed_precision=amp,
        samples_per_second=samples / seconds if seconds else 0.0, history=state["history"])


def _evaluate_loss(model, loss_fn, xv, yv, amp, amp_dtype) -> float:
    model.eval()
    with torch.no_grad(), torch.autocast(device_type="cuda", dtype=amp_dtype, enabled=amp):
        return float(loss_fn(model(xv).float(), yv)) if len(xv) else float("inf")


def _save_checkpoint(path: Path, payload: dict) -> None:
    """Write then rename, so a crash mid-write leaves the previous epoch's checkpoint intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)

"""Training throughput (samples/s) of the pipeline's credit-risk model, on CPU and on CUDA when available.

Self-contained: needs only torch and numpy (synthetic inputs shaped like the preprocessed feature vector), and trains
with the same model and training loop as the pipeline (``pipelines.ml``), mixed precision included on CUDA.

    python benchmarks/training.py                 # CPU, and CUDA if torch sees a GPU
    python benchmarks/training.py --device cuda   # CUDA only
    python benchmarks/training.py --hpo           # Optuna search vs the fixed trial list, same epoch budget
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from pipelines.features.schema import model_inputs
from pipelines.ml.train import HyperParams, train


def synthetic(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    numeric, categorical = model_inputs()
    width = len(numeric) + sum(len(v) for v in categorical.values())
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, width)).astype("float32")
    logit = x[:, :4] @ np.array([1.2, -0.8, 0.6, 0.4], dtype="float32") - 1.5
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype("float32")
    return x, y


def measure(device: str, rows: int, batch_size: int, epochs: int, hidden: int) -> float:
    x, y = synthetic(rows)
    split = int(rows * 0.9)
    params = HyperParams(max_epochs=epochs, patience=epochs + 1, batch_size=batch_size, hidden=hidden)
    _, result = train(x[:split], y[:split], x[split:], y[split:], params, device=device)
    return result.samples_per_second


# --- Hyperparameter search: Optuna (TPE + median pruning) vs the fixed list, for the same epoch budget -------------
FIXED_TRIALS = [
    {"learning_rate": 0.003, "hidden": 64, "layers": 2, "dropout": 0.1},
    {"learning_rate": 0.001, "hidden": 128, "layers": 3, "dropout": 0.2},
    {"learning_rate": 0.01, "hidden": 32, "layers": 1, "dropout": 0.0},
]
"""The pipeline's former fixed search (``DEFAULT_TRIALS`` of train_validate_deploy.py), copied for comparison."""


def credit_dataset(rows: int, path: Path, seed: int = 7) -> str:
    """The synthetic credit-risk applications joined point-in-time with their features, as a training parquet."""
    from pipelines.features.generate import generate, reference_join

    tables = generate(rows, seed)
    frame = reference_join(tables["loan_applications"], {k: v for k, v in tables.items() if k != "loan_applications"})
    frame.dropna().to_parquet(path)
    return str(path)


def hpo_vs_fixed(
    rows: int, budget_epochs: int, search_trials: int = 6, parallel: int = 2, seed: int = 42, workdir: str | None = None
) -> dict:
    """Best val_loss and wall time of the fixed list (3 trials x budget/3 epochs, run one after another as a single
    pod would) and of the Optuna search (``search_trials`` trials x budget/search_trials epochs, ``parallel`` at a
    time, pruned by the median rule): the same total epoch budget. Returns both, with the epochs actually trained."""
    import tempfile
    import time as clock

    from pipelines.ml.search_space import parse_budget
    from pipelines.ml.trial_worker import load_splits, run_trial
    from pipelines.steps.search import search_local

    work = Path(workdir or tempfile.mkdtemp(prefix="hpo-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    dataset = credit_dataset(rows, work / "dataset.parquet")
    fixed_epochs = budget_epochs // len(FIXED_TRIALS)
    started = clock.perf_counter()
    splits = load_splits(dataset)
    fixed = [run_trial(splits, trial, {"max_epochs": fixed_epochs, "seed": seed}, "cpu") for trial in FIXED_TRIALS]
    fixed_s = clock.perf_counter() - started
    search_epochs = budget_epochs // search_trials
    result = search_local(
        dataset,
        budget=parse_budget(search_trials, parallel, search_trials),
        max_epochs=search_epochs,
        seed=seed,
        workdir=str(work / "study"),
        device="cpu",
        echo=lambda line: None,
    )
    return {
        "rows": rows,
        "budget_epochs": budget_epochs,
        "fixed": {
            "trials": len(FIXED_TRIALS),
            "epochs_per_trial": fixed_epochs,
            "wall_s": fixed_s,
            "epochs_trained": sum(r.epochs_run for r in fixed),
            "best_val_loss": min(r.best_val_loss for r in fixed),
        },
        "optuna": {
            "trials": search_trials,
            "epochs_per_trial": search_epochs,
            "parallel": parallel,
            "wall_s": result["wall_s"],
            "pruned": result["n_pruned"],
            "epochs_trained": sum(len(t["intermediate_values"]) for t in result["trials"]),
            "best_val_loss": result["best_value"],
            "best_params": result["best_params"],
        },
    }


def print_hpo(figures: dict) -> None:
    print(
        f"HPO, {figures['rows']} rows, budget {figures['budget_epochs']} epochs in total (CPU, "
        f"{torch.get_num_threads()} threads):"
    )
    for name in ("fixed", "optuna"):
        f = figures[name]
        extra = f", {f['parallel']} parallel, {f['pruned']} pruned" if name == "optuna" else ", sequential"
        print(
            f"  {name:6} {f['trials']} trials x {f['epochs_per_trial']} epochs{extra}: best val_loss "
            f"{f['best_val_loss']:.4f}, {f['epochs_trained']} epochs trained, {f['wall_s']:.1f} s"
        )
    print(f"  optuna's best: {figures['optuna']['best_params']}")


def ddp_throughput(rows: int, epochs: int, processes: tuple[int, ...] = (1, 2), batch_size: int = 512) -> dict:
    """Training samples/s of torchrun with 1 and 2 gloo ranks on the CPU (the local runner's DDP), same data."""
    import tempfile
    import time

    import pandas as pd

    from pipelines.ml.data import split_of
    from pipelines.steps.train import train_distributed

    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        dataset = credit_dataset(rows, Path(tmp) / "data.parquet")
        train_rows = int((split_of(pd.read_parquet(dataset)) == "train").sum())
        for nproc in processes:
            params = {"max_epochs": epochs, "patience": epochs, "batch_size": batch_size, "hidden": 64}
            started = time.perf_counter()
            summary = train_distributed(dataset, params, f"{tmp}/model-{nproc}", f"{tmp}/ckpt-{nproc}", nproc, "cpu")
            wall = time.perf_counter() - started
            figures[nproc] = {
                "samples_per_s": train_rows * summary["epochs_run"] / wall,
                "wall_s": wall,
                "best_val_loss": summary["best_val_loss"],
                "train_rows": train_rows,
            }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--device", choices=["auto", "cpu", "cuda"], default="auto", help="auto: CPU, plus CUDA when available"
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-sizes", default="512,4096")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--hpo", action="store_true", help="compare the Optuna search with the fixed trial list")
    parser.add_argument("--hpo-rows", type=int, default=20_000)
    parser.add_argument("--hpo-budget-epochs", type=int, default=60)
    parser.add_argument("--hpo-trials", type=int, default=6)
    parser.add_argument("--hpo-parallel", type=int, default=2)
    parser.add_argument("--ddp", action="store_true", help="samples/s of 1 vs 2 torchrun ranks (gloo, CPU)")
    args = parser.parse_args()
    if args.ddp:
        for nproc, f in ddp_throughput(args.hpo_rows, args.epochs).items():
            print(
                f"torchrun gloo CPU, {nproc} process(es): {f['samples_per_s']:10,.0f} samples/s end to end "
                f"(wall {f['wall_s']:.1f} s incl. start-up, {f['train_rows']} train rows, best val_loss "
                f"{f['best_val_loss']:.4f})"
            )
        return
    if args.hpo:
        print_hpo(hpo_vs_fixed(args.hpo_rows, args.hpo_budget_epochs, args.hpo_trials, args.hpo_parallel))
        return
    devices = ["cpu", "cuda"] if args.device == "auto" else [args.device]
    if args.device == "auto" and not torch.cuda.is_available():
        devices = ["cpu"]
    if "cuda" in devices and not torch.cuda.is_available():
        sys.exit("--device cuda: torch sees no CUDA device")
    print(
        f"torch {torch.__version__}; {args.rows} synthetic rows, {args.epochs} epochs, hidden {args.hidden}; "
        f"CPU threads {torch.get_num_threads()}"
    )
    for device in devices:
        name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
        precision = "mixed precision (autocast)" if device == "cuda" else "float32, deterministic"
        for batch in (int(b) for b in args.batch_sizes.split(",")):
            rate = measure(device, args.rows, batch, args.epochs, args.hidden)
            print(f"{device:5} {name:28} batch {batch:6}  {rate:12,.0f} samples/s  ({precision})")


if __name__ == "__main__":
    main()

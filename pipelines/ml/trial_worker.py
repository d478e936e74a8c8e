"""One hyperparameter trial, shared by both search engines: the Optuna engine calls :func:`run_trial` in its worker
processes; a Katib trial pod runs this module, which prints the objective per epoch for Katib's StdOut collector:

    python -m pipelines.ml.trial_worker --dataset=s3://bucket/dataset.parquet --learning_rate=0.003 --hidden=64 ...

Each metric line starts with an RFC 3339 timestamp (Katib's early stopping orders the reports by it) and carries
``val_loss=<value>``, which the collector's default filter ``name=value`` parses.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pipelines.ml.search_space import OBJECTIVE_METRIC, SPACE, SearchSpace

if TYPE_CHECKING:
    import numpy as np

    Splits = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # x_train, y_train, x_val, y_val


def load_splits(source: str) -> Splits:
    """Train and validation arrays of a training frame (a local path or an fsspec URL such as ``s3://...``), with
    the preprocessor fitted on train only, exactly as the training step does."""
    import pandas as pd

    from pipelines.ml.data import Preprocessor, labels, split_of

    frame = pd.read_parquet(source)
    split = split_of(frame)
    train, val = frame[split == "train"], frame[split == "val"]
    pre = Preprocessor.fit(train)
    return pre.transform(train), labels(train), pre.transform(val), labels(val)


def run_trial(
    splits: Splits, params: dict, fixed: dict, device: str = "cpu", on_epoch: Callable[[dict], None] | None = None
):
    """Train one point of the space (``params``) with the search's fixed settings (``fixed``: max_epochs, patience,
    batch_size, seed); ``on_epoch`` sees every epoch's record and may raise to stop the trial."""
    from pipelines.ml.train import HyperParams, train

    _, result = train(*splits, HyperParams.coerce(**params, **fixed), device=device, on_epoch=on_epoch)
    return result


def metric_line(value: float) -> str:
    return f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {OBJECTIVE_METRIC}={value:.6f}"


def parse_args(argv: list[str], space: SearchSpace = SPACE) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipelines.ml.trial_worker", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, help="path or fsspec URL of the training frame (parquet)")
    for p in space.params:
        parser.add_argument(f"--{p.name}", required=True, type=float if p.kind in ("log_uniform", "uniform") else int)
    parser.add_argument("--max_epochs", type=int, required=True)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--batch_size", type=int, default=512)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--device", default="auto")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    params = {p.name: getattr(args, p.name) for p in SPACE.params}
    fixed = {"max_epochs": args.max_epochs, "patience": args.patience, "batch_size": args.batch_size, "seed": args.seed}
    result = run_trial(
        load_splits(args.dataset),
        params,
        fixed,
        args.device,
        on_epoch=lambda record: print(metric_line(record["val_loss"]), flush=True),
    )
    print(
        f"trial done: best {OBJECTIVE_METRIC} {result.best_val_loss:.6f} at epoch {result.best_epoch} "
        f"of {result.epochs_run} on {result.device}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

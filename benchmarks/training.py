"""Training throughput (samples/s) of the pipeline's credit-risk model, on CPU and on CUDA when available.

Self-contained: needs only torch and numpy (synthetic inputs shaped like the preprocessed feature vector), and trains
with the same model and training loop as the pipeline (``pipelines.ml``), mixed precision included on CUDA.

    python benchmarks/training.py                 # CPU, and CUDA if torch sees a GPU
    python benchmarks/training.py --device cuda   # CUDA only
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from pipelines.features.schema import model_inputs  # noqa: E402
from pipelines.ml.train import HyperParams, train  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="auto: CPU, plus CUDA when available")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-sizes", default="512,4096")
    parser.add_argument("--hidden", type=int, default=64)
    args = parser.parse_args()
    devices = ["cpu", "cuda"] if args.device == "auto" else [args.device]
    if args.device == "auto" and not torch.cuda.is_available():
        devices = ["cpu"]
    if "cuda" in devices and not torch.cuda.is_available():
        sys.exit("--device cuda: torch sees no CUDA device")
    print(f"torch {torch.__version__}; {args.rows} synthetic rows, {args.epochs} epochs, hidden {args.hidden}; "
          f"CPU threads {torch.get_num_threads()}")
    for device in devices:
        name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
        precision = "mixed precision (autocast)" if device == "cuda" else "float32, deterministic"
        for batch in (int(b) for b in args.batch_sizes.split(",")):
            rate = measure(device, args.rows, batch, args.epochs, args.hidden)
            print(f"{device:5} {name:28} batch {batch:6}  {rate:12,.0f} samples/s  ({precision})")


if __name__ == "__main__":
    main()

"""The program torchrun runs on every rank: ``python -m pipelines.ml.ddp_worker SPEC``.

SPEC is a JSON file (local path or object-store URI) with ``dataset``, ``hyperparams``, ``model_dir``,
``checkpoint`` (location or null) and ``device`` ("auto", "cpu", "cuda"). The process group comes from torchrun's
environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT): gloo on CPU, NCCL on CUDA with one GPU per
local rank. Every rank trains its share; rank 0 writes the model directory exactly as a single-process trial does,
plus ``world_size`` and ``backend`` in ``summary.json``.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path

TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
FAILURE_PREFIX = "ddp_worker rank"
PROCESS_GROUP_TIMEOUT = timedelta(minutes=10)
"""How long a collective waits for a missing rank before the job fails (instead of hanging forever)."""


class WorkerError(RuntimeError):
    pass


def read_spec(location: str) -> dict:
    from pipelines.ml import checkpoints
    from pipelines.steps.train import SPEC_FIELDS

    if "://" in location and not location.startswith("file://"):
        raw = checkpoints.read_bytes(location.rsplit("/", 1)[0], location.rsplit("/", 1)[1])
    else:
        path = location.removeprefix("file://")
        raw = Path(path).read_bytes() if os.path.exists(path) else None
    if raw is None:
        raise WorkerError(f"training spec {location} does not exist")
    try:
        spec = json.loads(raw)
    except ValueError as err:
        raise WorkerError(f"training spec {location} is not JSON: {err}") from err
    if not isinstance(spec, dict) or set(spec) != SPEC_FIELDS:
        got = sorted(spec) if isinstance(spec, dict) else type(spec).__name__
        raise WorkerError(f"training spec {location} must hold exactly the fields {sorted(SPEC_FIELDS)}, got {got}")
    if not isinstance(spec["hyperparams"], dict):
        raise WorkerError(f"training spec {location}: hyperparams must be an object")
    return spec


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise WorkerError("usage: python -m pipelines.ml.ddp_worker SPEC (run it under torchrun)")
    missing = [name for name in TORCHRUN_ENV if name not in os.environ]
    if missing:
        raise WorkerError(
            f"missing torchrun environment {missing}: start this module with torchrun "
            f"(python -m torch.distributed.run ... -m pipelines.ml.ddp_worker SPEC)"
        )
    _die_with_launcher()
    spec = read_spec(argv[0])

    import torch
    import torch.distributed as dist

    from pipelines.ml.train import pick_device
    from pipelines.steps.train import fit_and_save

    device = pick_device(spec["device"])
    local_rank = int(os.environ["LOCAL_RANK"])
    if device.startswith("cuda"):
        if local_rank >= torch.cuda.device_count():
            raise WorkerError(
                f"local rank {local_rank} has no GPU: this node shows {torch.cuda.device_count()}; "
                f"start at most that many processes per node"
            )
        device = f"cuda:{local_rank}"
        torch.cuda.set_device(local_rank)
        backend = "nccl"
    else:
        backend = "gloo"
    dist.init_process_group(backend=backend, timeout=PROCESS_GROUP_TIMEOUT)
    try:
        summary = fit_and_save(
            spec["dataset"],
            spec["hyperparams"],
            spec["model_dir"],
            spec["checkpoint"],
            device,
            extra_summary={"backend": backend},
        )
        dist.barrier()  # the launcher sees success only once rank 0 has written the model
    finally:
        dist.destroy_process_group()
    if os.environ["RANK"] == "0":
        print(
            f"rank 0 of {summary['world_size']} ({backend}): val_loss {summary['best_val_loss']:.4f} after "
            f"{summary['epochs_run']} epochs (resumed from epoch {summary['resumed_from_epoch']})",
            flush=True,
        )
    return 0


def _die_with_launcher() -> None:
    """torchrun starts each worker in its own session, so killing the launcher's process group would leave the ranks
    training on as orphans: on Linux, have the kernel SIGKILL this rank when its launcher dies."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        launcher = os.getppid()
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != launcher:  # it died before the request took effect
            os._exit(1)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BaseException as err:  # one line the launcher quotes in its error, then the traceback
        if not isinstance(err, SystemExit):
            print(
                f"{FAILURE_PREFIX} {os.environ.get('RANK', '?')} failed: {type(err).__name__}: {err}",
                file=sys.stderr,
                flush=True,
            )
        if isinstance(err, WorkerError):
            sys.exit(2)
        raise

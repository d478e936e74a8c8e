"""Pick the best trial of a hyperparameter search by validation loss."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pipelines.steps.train import SUMMARY_FILE


def select_best(model_dirs: list[str], best_dir: str) -> dict:
    """Copy the trial with the lowest validation loss (first one on a tie) to ``best_dir``; return its summary."""
    if not model_dirs:
        raise ValueError("no trials to choose from")
    summaries = [json.loads((Path(d) / SUMMARY_FILE).read_text()) for d in model_dirs]
    best = min(range(len(summaries)), key=lambda i: (summaries[i]["best_val_loss"], i))
    shutil.copytree(model_dirs[best], best_dir, dirs_exist_ok=True)
    chosen = {**summaries[best], "trial_index": best,
              "trials": [{"hyperparams": s["hyperparams"], "best_val_loss": s["best_val_loss"]} for s in summaries]}
    (Path(best_dir) / "selection.json").write_text(json.dumps(chosen, indent=2))
    return chosen

"""Component: one hyperparameter trial with PyTorch (CUDA + mixed precision when present), checkpointed per epoch."""

from typing import NamedTuple

from kfp.dsl import Dataset, Input, Model, Output

from pipelines.components._runtime import TRAIN_PACKAGES, component


@component(TRAIN_PACKAGES)
def train_model(
    dataset: Input[Dataset],
    trial: dict,
    model: Output[Model],
    checkpoint_root: str,
    run_id: str,
    max_epochs: int = 20,
    patience: int = 3,
    batch_size: int = 512,
    weight_decay: float = 1e-4,
    seed: int = 42,
    device: str = "auto",
) -> NamedTuple("TrainOutputs", [("val_loss", float), ("epochs_run", int)]):
    """Train ``trial`` (learning_rate, hidden, layers, dropout) on the train split with early stopping on val.

    Checkpoints go to ``checkpoint_root/run_id/<trial key>`` (a volume that outlives the pod), so a retried step
    resumes after its last finished epoch.
    """
    import os
    from collections import namedtuple

    from pipelines.ml.train import HyperParams
    from pipelines.steps.train import train_trial

    params = {**trial, "max_epochs": max_epochs, "patience": patience, "batch_size": batch_size,
              "weight_decay": weight_decay, "seed": seed}
    key = HyperParams.coerce(**params).key()
    checkpoint_dir = os.path.join(checkpoint_root, run_id, key) if checkpoint_root else None
    summary = train_trial(dataset.path, params, model.path, checkpoint_dir, device)
    model.metadata.update({k: v for k, v in summary.items() if k != "history"})
    model.metadata["framework"] = "pytorch"
    print(f"trial {key}: val_loss {summary['best_val_loss']:.4f} after {summary['epochs_run']} epochs on "
          f"{summary['device']} (resumed from epoch {summary['resumed_from_epoch']})")
    return namedtuple("TrainOutputs", ["val_loss", "epochs_run"])(summary["best_val_loss"], summary["epochs_run"])

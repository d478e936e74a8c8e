"""Component: train one configuration data-parallel, on local ranks or as a Kubeflow Trainer TrainJob, with durable
checkpoints so a retried step resumes."""

from typing import NamedTuple

from kfp.dsl import Artifact, Dataset, Input, Model, Output

from pipelines.components._runtime import DISTRIBUTED_TRAIN_PACKAGES, STEP_EMBEDDED_PACKAGES, component


@component(DISTRIBUTED_TRAIN_PACKAGES, STEP_EMBEDDED_PACKAGES, training=True)
def train_model(
    dataset: Input[Dataset],
    study: Input[Artifact],
    hyperparams: dict,
    model: Output[Model],
    checkpoint_root: str,
    run_id: str,
    backend: str = "local",
    processes: int = 2,
    num_nodes: int = 1,
    gpus_per_node: int = 1,
    interconnect: str = "",
    training_image: str = "ghcr.io/mlops-platform/trainer:0.1.0",
    max_epochs: int = 20,
    patience: int = 3,
    batch_size: int = 512,
    weight_decay: float = 1e-4,
    seed: int = 42,
    device: str = "auto",
) -> NamedTuple("TrainOutputs", [("val_loss", float), ("epochs_run", int)]):
    """Train ``hyperparams`` (the search's values win over this step's defaults); see
    :func:`pipelines.steps.train.train_for_pipeline` for the backends and the storage layout.
    ``training_image``: components.versions.TRAINING_IMAGE (a literal: KFP re-runs this source in the pod).
    ``study``: the search that chose ``hyperparams``; its ``study.json`` travels with the model into the lineage."""
    import os
    import shutil
    from collections import namedtuple

    from pipelines.steps.train import train_for_pipeline

    defaults = {
        "max_epochs": max_epochs,
        "patience": patience,
        "batch_size": batch_size,
        "weight_decay": weight_decay,
        "seed": seed,
    }
    summary = train_for_pipeline(
        dataset.path,
        {**defaults, **hyperparams},
        model.path,
        checkpoint_root,
        run_id,
        backend,
        processes,
        num_nodes,
        gpus_per_node,
        interconnect,
        training_image,
        device,
    )
    shutil.copyfile(os.path.join(study.path, "study.json"), os.path.join(model.path, "study.json"))
    model.metadata.update({k: v for k, v in summary.items() if k != "history"})
    model.metadata["framework"] = "pytorch"
    model.metadata["training_backend"] = backend
    from pipelines.steps.progress import emit

    emit(
        "trial",
        f"trial {summary['trial_key']}: val_loss {summary['best_val_loss']:.4f} after "
        f"{summary['epochs_run']} epochs on {summary['world_size']} x {summary['device']} ({summary['backend']}; "
        f"resumed from epoch {summary['resumed_from_epoch']})",
        trial=summary["trial_key"],
        val_loss=summary["best_val_loss"],
        epochs=summary["epochs_run"],
    )
    return namedtuple("TrainOutputs", ["val_loss", "epochs_run"])(summary["best_val_loss"], summary["epochs_run"])

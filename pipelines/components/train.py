"""Component: train one configuration data-parallel, on local ranks or as a Kubeflow Trainer TrainJob, with durable
checkpoints so a retried step resumes."""

from typing import NamedTuple

from kfp.dsl import Dataset, Input, Model, Output

from components.versions import TRAINING_IMAGE
from pipelines.components._runtime import DISTRIBUTED_TRAIN_PACKAGES, component


@component(DISTRIBUTED_TRAIN_PACKAGES)
def train_model(
    dataset: Input[Dataset],
    hyperparams: dict,
    model: Output[Model],
    checkpoint_root: str,
    run_id: str,
    backend: str = "local",
    processes: int = 2,
    num_nodes: int = 1,
    gpus_per_node: int = 1,
    interconnect: str = "",
    training_image: str = TRAINING_IMAGE.reference,
    max_epochs: int = 20,
    patience: int = 3,
    batch_size: int = 512,
    weight_decay: float = 1e-4,
    seed: int = 42,
    device: str = "auto",
) -> NamedTuple("TrainOutputs", [("val_loss", float), ("epochs_run", int)]):
    """Train ``hyperparams`` (from the search; its values win over the step's defaults for max_epochs, patience,
    batch_size, weight_decay and seed) on the train split with early stopping on val.

    ``backend``: "local" runs ``processes`` torchrun ranks in this pod; "kubeflow" submits a TrainJob of
    ``num_nodes`` x ``gpus_per_node`` ranks (``interconnect``: "", "efa" or "infiniband") running ``training_image``.
    Everything lives under ``checkpoint_root/run_id/<hyperparameter key>/``: ``checkpoints/`` (a retried step
    resumes there), and for "kubeflow" the dataset and spec the ranks read and ``model/`` that rank 0 writes, which
    this step copies into its output. ``checkpoint_root`` is a PVC path or, on the cloud stacks, an object-store URI
    (s3://, az://, abfs://) that both this pod and the TrainJob's pods can reach.
    """
    import json
    import os
    from collections import namedtuple

    from pipelines.ml import checkpoints
    from pipelines.ml.train import HyperParams

    if backend not in ("local", "kubeflow"):
        raise ValueError(f"backend {backend!r} is not one of 'local', 'kubeflow'")
    if not checkpoint_root:
        raise ValueError("checkpoint_root is required: a PVC path or an object-store URI for checkpoints")
    params = {"max_epochs": max_epochs, "patience": patience, "batch_size": batch_size,
              "weight_decay": weight_decay, "seed": seed, **hyperparams}
    key = HyperParams.coerce(**params).key()
    root = checkpoints.join(checkpoint_root, run_id, key)
    if backend == "local":
        from pipelines.steps.train import train_distributed

        summary = train_distributed(dataset.path, params, model.path, checkpoints.join(root, "checkpoints"),
                                    processes, device)
    else:
        from pipelines.steps.train import SUMMARY_FILE
        from pipelines.steps.trainjob import (build_trainjob, current_namespace, kubernetes_apis, run_trainjob,
                                              trainjob_name)

        with open(dataset.path, "rb") as fh:  # the ranks cannot see this pod's artifact: stage it beside the run
            checkpoints.write_bytes(root, "dataset.parquet", fh.read())
        model_dir = checkpoints.join(root, "model")
        spec = {"dataset": checkpoints.join(root, "dataset.parquet"), "hyperparams": params, "model_dir": model_dir,
                "checkpoint": checkpoints.join(root, "checkpoints"), "device": "cuda"}
        checkpoints.write_bytes(root, "spec.json", json.dumps(spec, indent=2).encode())
        name = trainjob_name(run_id, key)
        manifest = build_trainjob(name, current_namespace(), training_image, checkpoints.join(root, "spec.json"),
                                  num_nodes=num_nodes, gpus_per_node=gpus_per_node, interconnect=interconnect,
                                  labels={"mlops.platform/run-id": run_id[:63].strip("-_.") or "none"})
        run_trainjob(manifest, *kubernetes_apis())
        checkpoints.copy_dir(model_dir, model.path)
        summary = json.loads(open(os.path.join(model.path, SUMMARY_FILE)).read())
    model.metadata.update({k: v for k, v in summary.items() if k != "history"})
    model.metadata["framework"] = "pytorch"
    model.metadata["training_backend"] = backend
    print(f"trial {key}: val_loss {summary['best_val_loss']:.4f} after {summary['epochs_run']} epochs on "
          f"{summary['world_size']} x {summary['device']} ({summary['backend']}; resumed from epoch "
          f"{summary['resumed_from_epoch']})")
    return namedtuple("TrainOutputs", ["val_loss", "epochs_run"])(summary["best_val_loss"], summary["epochs_run"])

"""Component: hyperparameter search over the one search space, locally with Optuna or on the cluster with Katib."""

from typing import NamedTuple

from kfp.dsl import Artifact, Dataset, Input, Output

from pipelines.components._runtime import SEARCH_PACKAGES, STEP_EMBEDDED_PACKAGES, component


@component(SEARCH_PACKAGES, STEP_EMBEDDED_PACKAGES, training=True)
def search_hyperparameters(
    dataset: Input[Dataset],
    study: Output[Artifact],
    backend: str = "local",
    max_trials: int = 12,
    parallel_trials: int = 2,
    max_epochs: int = 20,
    seed: int = 42,
    training_image: str = "",
    namespace: str = "kubeflow",
    search_space: dict = {},  # noqa: B006 - KFP compiles the signature's default into the spec; never mutated
    max_failed_trials: int = -1,
    early_stopping: dict = {},  # noqa: B006 - as search_space
    patience: int = 3,
    batch_size: int = 512,
    device: str = "auto",
    checkpoint_root: str = "",
    run_id: str = "",
    timeout_s: int = 21600,
) -> NamedTuple("SearchOutputs", [("best_params", dict), ("best_val_loss", float)]):
    """Search ``search_space`` (empty: the platform's space) within the budget; ``study`` is a directory holding
    ``study.json`` (every trial). ``max_failed_trials`` -1: the default, at most 3 and at most ``max_trials``.

    ``backend``: ``local`` runs Optuna trials in parallel processes in this pod, its study journal under
    ``checkpoint_root/run_id/hpo`` (a volume that outlives the pod) so a retried step resumes; ``kubeflow`` creates a
    Katib Experiment in ``namespace`` whose trials run ``training_image`` on GPU nodes through Kueue, and waits for
    it up to ``timeout_s``.
    """
    import os
    import tempfile
    from collections import namedtuple

    from pipelines.ml.search_space import parse_budget, parse_space

    backends = ("local", "kubeflow")
    if backend not in backends:
        raise ValueError(f"backend must be one of {backends}, got {backend!r}")
    space = parse_space(search_space)
    budget = parse_budget(
        max_trials, parallel_trials, None if max_failed_trials == -1 else max_failed_trials, early_stopping
    )
    common: dict = {
        "space": space,
        "budget": budget,
        "max_epochs": max_epochs,
        "seed": seed,
        "patience": patience,
        "batch_size": batch_size,
        "device": device,
    }
    if backend == "local":
        from pipelines.steps.search import search_local

        workdir = (
            os.path.join(checkpoint_root, run_id, "hpo")
            if checkpoint_root and run_id
            else tempfile.mkdtemp(prefix="hpo-")
        )
        result = search_local(dataset.path, workdir=workdir, out_dir=study.path, **common)
    else:
        from pipelines.steps.katib import search_katib, trial_dataset_uri

        result = search_katib(
            trial_dataset_uri(dataset.uri), training_image, namespace, timeout_s=timeout_s, out_dir=study.path, **common
        )
    study.metadata.update(
        {
            "engine": result["engine"],
            "best_params": result["best_params"],
            "best_val_loss": result["best_value"],
            "n_trials": result["n_trials"],
            "n_pruned": result["n_pruned"],
            "n_failed": result["n_failed"],
        }
    )
    outputs = namedtuple("SearchOutputs", ["best_params", "best_val_loss"])
    return outputs(result["best_params"], result["best_value"])

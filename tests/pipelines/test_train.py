"""Train step: seeded and deterministic on CPU, checkpoint per epoch, resume after a failure, early stopping."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.ml import checkpoints
from pipelines.ml.train import HyperParams, train


@pytest.fixture(scope="module")
def arrays(training_data):
    from pipelines.ml.data import Preprocessor, labels, split_of

    frame = pd.read_parquet(training_data["dataset"])
    split = split_of(frame)
    pre = Preprocessor.fit(frame[split == "train"])
    return (
        pre.transform(frame[split == "train"]),
        labels(frame[split == "train"]),
        pre.transform(frame[split == "val"]),
        labels(frame[split == "val"]),
    )


def _weights(model) -> list[np.ndarray]:
    return [v.detach().numpy().copy() for v in model.state_dict().values()]


def test_training_is_deterministic_on_cpu_and_learns(arrays):
    params = HyperParams(max_epochs=2, hidden=16, batch_size=256)
    m1, r1 = train(*arrays, params, device="cpu")
    m2, r2 = train(*arrays, params, device="cpu")
    assert all(np.array_equal(a, b) for a, b in zip(_weights(m1), _weights(m2)))
    assert r1.history == r2.history and r1.device == "cpu" and not r1.mixed_precision
    assert r1.history[-1]["train_loss"] < r1.history[0]["train_loss"] + 0.05


def test_a_retried_step_resumes_from_the_last_checkpoint_and_matches_an_uninterrupted_run(arrays, tmp_path):
    params = HyperParams(max_epochs=3, patience=10, hidden=16, batch_size=256)
    reference, _ = train(*arrays, params, device="cpu")

    class Crash(Exception):
        pass

    def crash_after_epoch_two(record):
        if record["epoch"] == 2:
            raise Crash

    with pytest.raises(Crash):
        train(*arrays, params, checkpoint=tmp_path, device="cpu", on_epoch=crash_after_epoch_two)
    assert checkpoints.load(tmp_path)["state"]["epoch"] == 2
    resumed, result = train(*arrays, params, checkpoint=tmp_path, device="cpu")
    assert result.resumed_from_epoch == 2 and result.epochs_run == 3
    assert all(np.array_equal(a, b) for a, b in zip(_weights(reference), _weights(resumed)))


def test_a_checkpoint_of_other_hyperparameters_is_not_reused(arrays, tmp_path):
    train(*arrays, HyperParams(max_epochs=1, hidden=16), checkpoint=tmp_path, device="cpu")
    with pytest.raises(ValueError, match="other hyperparameters"):
        train(*arrays, HyperParams(max_epochs=1, hidden=32), checkpoint=tmp_path, device="cpu")


def test_early_stopping_keeps_the_best_epoch(arrays):
    _, result = train(*arrays, HyperParams(max_epochs=40, patience=1, learning_rate=0.05, hidden=16), device="cpu")
    assert result.stopped_early and result.epochs_run < 40
    assert result.best_val_loss == min(h["val_loss"] for h in result.history)


def test_collected_ints_arriving_as_floats_are_coerced_and_fractions_refused():
    assert HyperParams.coerce(hidden=64.0, layers=2.0, learning_rate=1).hidden == 64
    with pytest.raises(ValueError, match="hidden must be a whole number"):
        HyperParams.coerce(hidden=64.5)


@pytest.mark.slow
def test_train_component_runs_two_local_ranks_and_writes_a_loadable_model(training_data, local_runner, tmp_path):
    from kfp import dsl

    from pipelines.components.train import train_model
    from pipelines.steps.train import load_model

    study_dir = _study(tmp_path)

    @dsl.pipeline
    def one_trial(dataset_uri: str, study_uri: str, checkpoint_root: str):
        data = dsl.importer(artifact_uri=dataset_uri, artifact_class=dsl.Dataset)
        study = dsl.importer(artifact_uri=study_uri, artifact_class=dsl.Artifact)
        train_model(
            dataset=data.output,
            study=study.output,
            hyperparams={"hidden": 16, "learning_rate": 0.003},
            checkpoint_root=checkpoint_root,
            run_id="test-run",
            max_epochs=2,
            device="cpu",
        )

    one_trial(dataset_uri=training_data["dataset"], study_uri=study_dir, checkpoint_root=str(tmp_path / "ckpt"))
    model_dir = next(local_runner.glob("one-trial-*/train-model/model"))
    assert json.loads((model_dir / "study.json").read_text())["engine"] == "optuna", "the study travels with the model"
    model, pre = load_model(str(model_dir))
    assert len(pre.input_names) == model.net[0].in_features
    assert json.loads((model_dir / "summary.json").read_text())["world_size"] == 2
    assert len(list((tmp_path / "ckpt" / "test-run").glob(f"*/checkpoints/{checkpoints.MANIFEST}"))) == 1


def _study(tmp_path) -> str:
    """A search's study artifact (a directory holding study.json), as the search step writes it."""
    study = tmp_path / "study"
    study.mkdir()
    (study / "study.json").write_text(json.dumps({"engine": "optuna", "best_params": {"hidden": 16}, "trials": []}))
    return str(study)


@pytest.mark.slow
def test_train_component_on_kubeflow_stages_the_run_and_copies_the_model_rank0_wrote(
    training_data, tmp_path, monkeypatch
):
    """The "kubeflow" backend against a fake cluster whose TrainJob runs the manifest's torchrun args here (PVC
    case: checkpoint_root is a path both sides see)."""
    from types import SimpleNamespace

    from pipelines.components.train import train_model
    from pipelines.steps import trainjob
    from pipelines.steps.train import load_model, run_streamed, torchrun_command

    submitted = []

    class Cluster:
        def create_namespaced_custom_object(self, group, version, namespace, plural, body):
            submitted.append(body)
            run_streamed(torchrun_command(body["spec"]["trainer"]["args"][-1], 2))

        def get_namespaced_custom_object(self, *args):
            return {"status": {"conditions": [{"type": "Complete", "status": "True"}]}}

        def list_namespaced_pod(self, namespace, label_selector):
            return SimpleNamespace(items=[])

    monkeypatch.setattr(trainjob, "kubernetes_apis", lambda: (Cluster(), Cluster()))
    model = SimpleNamespace(path=str(tmp_path / "out"), metadata={})
    out = train_model.python_func(
        dataset=SimpleNamespace(path=training_data["dataset"]),
        study=SimpleNamespace(path=_study(tmp_path)),
        hyperparams={"hidden": 16, "max_epochs": 2},
        model=model,
        checkpoint_root=str(tmp_path / "pvc"),
        run_id="run-7",
        backend="kubeflow",
        num_nodes=2,
        gpus_per_node=4,
        interconnect="efa",
    )
    (job,) = submitted
    assert job["spec"]["trainer"]["numNodes"] == 2 and job["spec"]["trainer"]["numProcPerNode"] == 4
    spec = json.loads(Path(job["spec"]["trainer"]["args"][-1]).read_text())
    assert spec["model_dir"].startswith(str(tmp_path / "pvc" / "run-7")) and spec["model_dir"].endswith("/model")
    _loaded, _ = load_model(model.path)
    assert out.epochs_run == 2 and model.metadata["world_size"] == 2 and model.metadata["backend"] == "gloo"
    assert model.metadata["hyperparams"]["hidden"] == 16 and model.metadata["resumed_from_epoch"] == 0


def test_train_component_defaults_to_the_pinned_training_image():
    import inspect

    from components.versions import TRAINING_IMAGE
    from pipelines.components.train import train_model

    default = inspect.signature(train_model.python_func).parameters["training_image"].default
    assert default == TRAINING_IMAGE.reference


def test_training_benchmark_runs_with_only_torch_and_numpy():
    """benchmarks/training.py is copied to GPU machines that have torch and numpy but not pandas, feast or kfp."""
    import subprocess
    import sys

    script = (
        "import runpy, sys; sys.argv = ['training.py', '--device', 'cpu', '--rows', '2000', '--epochs', '1', "
        "'--batch-sizes', '256']; runpy.run_path('benchmarks/training.py', run_name='__main__'); "
        "heavy = {'pandas', 'feast', 'kfp', 'pyarrow'} & set(sys.modules); assert not heavy, heavy"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "samples/s" in done.stdout

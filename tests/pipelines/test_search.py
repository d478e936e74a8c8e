"""Local search engine: Optuna TPE + median pruning over the one space, trials in parallel processes, the whole
study returned and written, resume after an interruption, failure limit; and the KFP component in a local run."""

import json

import pytest

from pipelines.ml.search_space import SPACE, parse_budget, parse_space

RESULT_KEYS = {
    "engine",
    "objective",
    "best_params",
    "best_value",
    "best_trial",
    "n_trials",
    "n_complete",
    "n_pruned",
    "n_failed",
    "space",
    "budget",
    "fixed",
    "trials",
    "resumed_trials",
    "wall_s",
}
TRIAL_KEYS = {"number", "name", "params", "state", "value", "intermediate_values", "duration_s"}


@pytest.mark.slow
def test_parallel_search_returns_the_whole_study_and_writes_it(training_data, tmp_path):
    from pipelines.steps.search import search_local

    lines = []
    result = search_local(
        training_data["dataset"],
        budget=parse_budget(4, 2, 0, {"min_trials_required": 1, "start_step": 1}),
        max_epochs=4,
        seed=3,
        workdir=str(tmp_path / "work"),
        out_dir=str(tmp_path / "out"),
        device="cpu",
        echo=lines.append,
    )
    assert set(result) == RESULT_KEYS and all(set(t) == TRIAL_KEYS for t in result["trials"])
    assert json.loads((tmp_path / "out" / "study.json").read_text()) == json.loads(json.dumps(result))
    assert "2 in parallel" in lines[0]
    assert result["engine"] == "optuna" and result["n_trials"] == 4 == len(result["trials"])
    assert result["n_complete"] + result["n_pruned"] == 4 and result["n_failed"] == 0
    complete = [t for t in result["trials"] if t["state"] == "COMPLETE"]
    assert result["best_value"] == min(t["value"] for t in complete)
    best = next(t for t in result["trials"] if t["name"] == result["best_trial"])
    assert best["params"] == result["best_params"] and set(result["best_params"]) == set(SPACE.names())
    for t in result["trials"]:
        steps = [v["step"] for v in t["intermediate_values"]]
        assert steps == list(range(1, len(steps) + 1)) and 1 <= len(steps) <= 4 and t["duration_s"] > 0
        if t["state"] == "COMPLETE":  # a trial's value is its best epoch's validation loss
            assert t["value"] == min(v["value"] for v in t["intermediate_values"])
    assert len({json.dumps(t["params"], sort_keys=True) for t in result["trials"]}) == 4


@pytest.mark.slow
def test_an_interrupted_search_resumes_with_its_finished_trials_and_prunes(training_data, tmp_path):
    import optuna

    from pipelines.steps.search import JOURNAL_FILE, STUDY_NAME, _storage, search_local

    work = str(tmp_path / "work")
    stop = {"min_trials_required": 1, "start_step": 1}
    first = search_local(
        training_data["dataset"],
        budget=parse_budget(3, 1, 0, stop),
        max_epochs=5,
        seed=5,
        workdir=work,
        device="cpu",
        echo=lambda s: None,
    )
    # A worker killed mid-trial leaves a RUNNING trial in the journal.
    optuna.load_study(study_name=STUDY_NAME, storage=_storage(str(tmp_path / "work" / JOURNAL_FILE))).ask()
    lines = []
    second = search_local(
        training_data["dataset"],
        budget=parse_budget(6, 1, 0, stop),
        max_epochs=5,
        seed=5,
        workdir=work,
        device="cpu",
        echo=lines.append,
    )
    assert "3 of 6 trials already finished" in lines[0] and second["resumed_trials"] == 3
    assert second["trials"][:3] == first["trials"]
    interrupted = second["trials"][3]
    assert interrupted["state"] == "FAIL" and interrupted.get("interrupted")
    assert second["n_trials"] == 6 and second["n_failed"] == 0 and len(second["trials"]) == 7
    assert second["n_pruned"] >= 1  # the median rule stopped at least one poor trial (seeded, one at a time)
    pruned = next(t for t in second["trials"] if t["state"] == "PRUNED")
    assert len(pruned["intermediate_values"]) < 5

    with pytest.raises(ValueError, match="holds a study of another search"):
        search_local(
            training_data["dataset"],
            space=parse_space({"dropout": {"kind": "uniform", "low": 0.0, "high": 0.1}}),
            budget=parse_budget(6, 1, 0, stop),
            max_epochs=5,
            seed=5,
            workdir=work,
            echo=lambda s: None,
        )


@pytest.mark.slow
def test_failing_trials_stop_the_search_beyond_the_failure_limit(training_data, tmp_path):
    import torch

    from pipelines.steps.search import search_local

    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA to make every trial fail")
    with pytest.raises(RuntimeError, match=r"2 trials failed, more than max_failed_trials \(1\).*CUDA"):
        search_local(
            training_data["dataset"],
            budget=parse_budget(4, 1, 1),
            max_epochs=2,
            workdir=str(tmp_path / "w"),
            device="cuda",
            echo=lambda s: None,
        )


def test_the_component_signature():
    from pipelines.components.search import search_hyperparameters

    spec = search_hyperparameters.component_spec
    for name in (
        "dataset",
        "backend",
        "max_trials",
        "parallel_trials",
        "max_epochs",
        "seed",
        "training_image",
        "namespace",
        "search_space",
    ):
        assert name in spec.inputs
    assert spec.inputs["backend"].default == "local" and spec.inputs["namespace"].default == "kubeflow"
    assert set(spec.outputs) == {"study", "best_params", "best_val_loss"}
    assert spec.outputs["best_val_loss"].type == "Float" and spec.outputs["best_params"].type == "Dict"


def test_every_components_command_fits_in_one_exec_argument():
    """KFP inlines the embedded code as one base64 argument; Linux refuses an argument over 128 KiB."""
    import importlib
    import pkgutil

    from google.protobuf import json_format

    import pipelines.components as package

    sizes = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"pipelines.components.{info.name}")
        for name, obj in vars(module).items():
            if getattr(getattr(obj, "python_func", None), "__module__", None) == module.__name__:
                spec = json_format.MessageToDict(obj.pipeline_spec)
                for executor in spec["deploymentSpec"]["executors"].values():
                    sizes[name] = max(len(a) for a in executor["container"]["command"])
    assert "search_hyperparameters" in sizes and len(sizes) >= 10
    assert {n: s for n, s in sizes.items() if s >= 131_072} == {}


@pytest.mark.slow
def test_the_search_component_runs_locally(training_data, local_runner):
    from kfp import dsl

    from pipelines.components.search import search_hyperparameters

    @dsl.pipeline
    def only_search(dataset_uri: str) -> float:
        data = dsl.importer(artifact_uri=dataset_uri, artifact_class=dsl.Dataset)
        return search_hyperparameters(
            dataset=data.output, max_trials=2, parallel_trials=2, max_epochs=2, seed=1, device="cpu"
        ).outputs["best_val_loss"]

    best = only_search(dataset_uri=training_data["dataset"]).output
    study = json.loads(next(local_runner.glob("only-search-*/search-hyperparameters/study/study.json")).read_text())
    assert study["engine"] == "optuna" and study["n_trials"] == 2 and best == study["best_value"]

    @dsl.pipeline
    def wrong_backend(dataset_uri: str):
        data = dsl.importer(artifact_uri=dataset_uri, artifact_class=dsl.Dataset)
        search_hyperparameters(dataset=data.output, backend="slurm")

    with pytest.raises(RuntimeError):
        wrong_backend(dataset_uri=training_data["dataset"])

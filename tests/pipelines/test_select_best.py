"""Select step: the lowest validation loss wins; ParallelFor + Collected feeds it in a local run."""

import json

import pytest


def _fake_trial(path, loss, hidden):
    path.mkdir()
    (path / "summary.json").write_text(json.dumps({"best_val_loss": loss, "hyperparams": {"hidden": hidden}}))
    (path / "model.pt").write_text(str(hidden))


def test_lowest_validation_loss_wins_and_ties_keep_the_first(tmp_path):
    from pipelines.steps.select_best import select_best

    for name, loss, hidden in (("a", 0.40, 16), ("b", 0.35, 32), ("c", 0.35, 64)):
        _fake_trial(tmp_path / name, loss, hidden)
    chosen = select_best([str(tmp_path / n) for n in "abc"], str(tmp_path / "best"))
    assert chosen["trial_index"] == 1 and (tmp_path / "best" / "model.pt").read_text() == "32"
    with pytest.raises(ValueError, match="no trials"):
        select_best([], str(tmp_path / "none"))


def test_parallel_trials_are_collected_and_the_best_is_kept_in_a_local_run(training_data, local_runner, tmp_path):
    from kfp import dsl

    from pipelines.components.select_best import select_best_model
    from pipelines.components.train import train_model

    @dsl.pipeline
    def search(dataset_uri: str, trials: list) -> str:
        data = dsl.importer(artifact_uri=dataset_uri, artifact_class=dsl.Dataset)
        with dsl.ParallelFor(items=trials) as trial:
            t = train_model(dataset=data.output, trial=trial, checkpoint_root="", run_id="x", max_epochs=1)
        return select_best_model(models=dsl.Collected(t.outputs["model"]),
                                 val_losses=dsl.Collected(t.outputs["val_loss"])).outputs["Output"]

    best = search(dataset_uri=training_data["dataset"],
                  trials=[{"hidden": 8, "learning_rate": 0.003}, {"hidden": 16, "learning_rate": 0.003}]).output
    assert json.loads(best)["hidden"] in (8, 16)
    selection = json.loads(next(local_runner.glob("search-*/select-best-model/best_model/selection.json")).read_text())
    assert len(selection["trials"]) == 2
    assert selection["best_val_loss"] == min(t["best_val_loss"] for t in selection["trials"])

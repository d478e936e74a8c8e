"""Component: keep the best trial of the hyperparameter search (lowest validation loss)."""

from typing import List

from kfp.dsl import Input, Model, Output

from pipelines.components._runtime import DATA_PACKAGES, component


@component(DATA_PACKAGES)
def select_best_model(models: Input[List[Model]], val_losses: List[float], best_model: Output[Model]) -> str:
    """Copy the winning trial to ``best_model``; returns its hyperparameters as JSON.

    ``val_losses`` arrive collected from the trials (KFP hands collected numbers over as floats); they must agree
    with the trials' own summaries, which is checked.
    """
    import json

    from pipelines.steps.select_best import select_best

    chosen = select_best([m.path for m in models], best_model.path)
    if sorted(round(float(v), 6) for v in val_losses) != sorted(round(t["best_val_loss"], 6) for t in chosen["trials"]):
        raise ValueError(f"collected validation losses {val_losses} do not match the trials' summaries")
    best_model.metadata.update({k: v for k, v in chosen.items() if k != "history"})
    print(f"best of {len(models)} trials: #{chosen['trial_index']} val_loss {chosen['best_val_loss']:.4f} "
          f"{chosen['hyperparams']}")
    return json.dumps(chosen["hyperparams"])

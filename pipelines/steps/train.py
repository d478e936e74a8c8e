"""One training trial: fit the preprocessor on the train split, train with checkpoints, save the best model."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pandas as pd

MODEL_FILE, PREPROCESSOR_FILE, SUMMARY_FILE = "model.pt", "preprocessor.json", "summary.json"


def train_trial(dataset_path: str, hyperparams: dict, model_dir: str, checkpoint_dir: str | None,
                device: str = "auto") -> dict:
    """Train one configuration and write ``model.pt`` (weights + architecture), the preprocessor and a summary."""
    import torch

    from pipelines.ml.data import Preprocessor, labels, split_of
    from pipelines.ml.train import HyperParams, train

    params = HyperParams.coerce(**hyperparams)
    frame = pd.read_parquet(dataset_path)
    split = split_of(frame)
    pre = Preprocessor.fit(frame[split == "train"])
    model, result = train(pre.transform(frame[split == "train"]), labels(frame[split == "train"]),
                          pre.transform(frame[split == "val"]), labels(frame[split == "val"]), params,
                          checkpoint_dir=checkpoint_dir, device=device)
    out = Path(model_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": {k: v.cpu() for k, v in model.state_dict().items()}, "n_inputs": len(pre.input_names),
                "hidden": params.hidden, "layers": params.layers, "dropout": params.dropout}, out / MODEL_FILE)
    (out / PREPROCESSOR_FILE).write_text(pre.to_json())
    summary = {"hyperparams": asdict(params), "trial_key": params.key(), **asdict(result)}
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2))
    return summary


def load_model(model_dir: str):
    """The trained model (eval mode, CPU) and its preprocessor, from a directory :func:`train_trial` wrote."""
    import torch

    from pipelines.ml.data import Preprocessor
    from pipelines.ml.model import CreditRiskMLP

    saved = torch.load(Path(model_dir) / MODEL_FILE, map_location="cpu", weights_only=True)
    model = CreditRiskMLP(saved["n_inputs"], saved["hidden"], saved["layers"], saved["dropout"])
    model.load_state_dict(saved["state_dict"])
    model.eval()
    return model, Preprocessor.from_json((Path(model_dir) / PREPROCESSOR_FILE).read_text())

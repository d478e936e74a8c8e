"""Fixtures for serving tests: small real model directories (the training step's format) without a training run."""

from __future__ import annotations

from pathlib import Path

import pytest


def write_model_dir(path: Path, seed: int, n_inputs_offset: int = 0) -> Path:
    """A model directory as ``train_trial`` writes it: an untrained seeded MLP plus an identity preprocessor.

    ``n_inputs_offset`` != 0 makes the weights disagree with the preprocessor, so every prediction fails (a broken
    release that a canary check must catch).
    """
    import torch

    from pipelines.features.schema import model_inputs
    from pipelines.ml.data import Preprocessor
    from pipelines.ml.model import CreditRiskMLP
    from pipelines.steps.train import MODEL_FILE, PREPROCESSOR_FILE

    numeric, categorical = model_inputs()
    pre = Preprocessor(
        numeric, {k: list(v) for k, v in categorical.items()}, [0.0] * len(numeric), [1.0] * len(numeric)
    )
    torch.manual_seed(seed)
    n_inputs = len(pre.input_names) + n_inputs_offset
    model = CreditRiskMLP(n_inputs, hidden=8, layers=1, dropout=0.0)
    path.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"state_dict": model.state_dict(), "n_inputs": n_inputs, "hidden": 8, "layers": 1, "dropout": 0.0},
        path / MODEL_FILE,
    )
    (path / PREPROCESSOR_FILE).write_text(pre.to_json())
    return path


SAMPLE = {
    "age_band": "26-35",
    "annual_income": 120000.0,
    "employment_years": 4.0,
    "home_ownership": "rent",
    "credit_utilization": 0.3,
    "open_accounts": 5,
    "delinquencies_2y": 0,
    "debt_to_income": 0.4,
    "credit_history_months": 96,
    "inquiries_6m": 1,
    "loan_amount": 25000.0,
    "loan_term_months": 36,
}
"""One applicant's service features (raw, as the model server receives them)."""


@pytest.fixture
def sample_rows() -> list[dict]:
    rows = []
    for i in range(8):
        row = dict(SAMPLE)
        row["annual_income"] = 60000.0 + 15000 * i
        row["credit_utilization"] = 0.1 * i
        rows.append(row)
    return rows


@pytest.fixture
def model_dirs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {
        "a": write_model_dir(root / "a", 1),
        "b": write_model_dir(root / "b", 2),
        "broken": write_model_dir(root / "broken", 3, n_inputs_offset=2),
    }


@pytest.fixture
def served(tmp_path, model_dirs):
    """A registry with v1 stable and v2 registered, served over HTTP by the real server: (registry, app, base URL)."""
    from pipelines.registry import LocalRegistry
    from pipelines.serving.server import ServingApp, start_in_background

    registry = LocalRegistry(tmp_path / "registry")
    registry.register("credit-risk", model_dirs["a"])
    registry.register("credit-risk", model_dirs["b"])
    registry.start_rollout("credit-risk", "v1", "canary", 10)
    registry.promote("credit-risk", "v1")
    app = ServingApp(registry, tmp_path / "serving" / "requests.jsonl")
    server, thread = start_in_background(app)
    yield registry, app, server.url + "/v2"
    server.shutdown()
    server.server_close()
    thread.join(5)

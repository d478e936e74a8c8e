"""The credit-risk model: a small MLP over the preprocessed inputs, returning default logits."""

from __future__ import annotations

import torch
from torch import nn


class CreditRiskMLP(nn.Module):
    def __init__(self, n_inputs: int, hidden: int = 64, layers: int = 2, dropout: float = 0.1):
        super().__init__()
        blocks: list[nn.Module] = []
        width = n_inputs
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        blocks.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def predict_proba(model: nn.Module, x, device: str = "cpu", batch_size: int = 65_536):
    """Default probabilities for a float32 numpy matrix, in eval mode, without gradients."""
    import numpy as np

    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            xb = torch.as_tensor(x[i : i + batch_size], device=device)
            out.append(torch.sigmoid(model(xb).float()).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype="float32")

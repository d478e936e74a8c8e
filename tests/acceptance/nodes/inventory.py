"""Expectations per node, read from a stack file through the same schema and rendering `pulumi up` uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from infra.config import StackConfig

REPO = Path(__file__).resolve().parent.parent.parent.parent


def stack_path(stack: str) -> Path:
    """A stack name (stacks/Pulumi.NAME.yaml) or a path to a stack file."""
    return Path(stack) if stack.endswith((".yaml", ".yml")) else REPO / "stacks" / f"Pulumi.{stack}.yaml"


def load_stack(stack: str) -> StackConfig:
    """Validate a stack file offline; secrets stay opaque (only their presence matters here)."""
    import yaml

    from infra.config import PROJECT, SECRET_KEYS, SecretValue, validate

    path = stack_path(stack)
    doc = yaml.safe_load(path.read_text())
    raw = {}
    for key, value in (doc.get("config") or {}).items():
        short = key.removeprefix(f"{PROJECT}:")
        raw[short] = SecretValue(short) if short in SECRET_KEYS else value
    return validate(raw, str(path))


@dataclass(frozen=True)
class Expected:
    """What one node must look like. ``labels``/``taints`` are None when the run was not told the pool."""

    name: str
    gpu: bool
    gpu_count: int | None
    labels: dict[str, str] | None = None
    taints: list[dict[str, str]] | None = None
    packages: list[str] = field(default_factory=list)
    ssh_user: str = "root"


def load_inventory(stack: str) -> dict[str, Expected]:
    """Node address -> what that node must look like."""
    from components.bootstrap.render import packages
    from infra.targets.onprem import bootstrap_settings, node_plans

    cfg = load_stack(stack)
    inventory = {}
    for plan in node_plans(cfg):
        pinned = packages(bootstrap_settings(cfg.node_bootstrap), plan.gpu) if cfg.node_bootstrap else []
        inventory[plan.address] = Expected(
            plan.name, plan.gpu, plan.gpu_count, plan.labels, plan.taints, pinned, ssh_user=plan.ssh_user
        )
    if not inventory:
        raise pytest.UsageError(f"{stack_path(stack)}: no node has an address to test")
    return inventory

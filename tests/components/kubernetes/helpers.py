"""Validated stack configs for component tests, read from the real stack files so tests follow them."""

from __future__ import annotations

from typing import Any

import yaml

from infra.config import PROJECT, SecretValue, StackConfig, validate
from policies.preview.runner import REPO_ROOT


def stack_config(stack: str = "onprem-dc1", **overrides: Any) -> StackConfig:
    """The stack file's config (secrets as placeholders), with top-level keys (camelCase) replaced by ``overrides``."""
    path = REPO_ROOT / "stacks" / f"Pulumi.{stack}.yaml"
    raw: dict[str, Any] = {}
    for key, value in yaml.safe_load(path.read_text())["config"].items():
        namespace, _, name = key.partition(":")
        if namespace != PROJECT:
            continue
        raw[name] = (
            SecretValue(name, "[secret placeholder]") if isinstance(value, dict) and "secure" in value else value
        )
    raw.update(overrides)
    return validate(raw, str(path))

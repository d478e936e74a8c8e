"""Run the Azure target of a project stack under the recording mocks, config read the way `pulumi up` reads it."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from infra.targets import TargetCluster
from policies.preview.model import PreviewResult
from policies.preview.runner import REPO_ROOT, load_project, load_stack_config, run_under_mocks

AZURE_STACK = "azure-uae-prod"


def preview_azure_target(
    stack: str = AZURE_STACK, overrides: dict[str, Any] | None = None
) -> tuple[PreviewResult, TargetCluster]:
    """Preview ``infra.targets.azure.build`` for a stack file; ``overrides`` replaces ``mlops:`` keys first."""
    from infra.config import load_from_pulumi
    from infra.targets import azure

    project = load_project(REPO_ROOT)
    config, secret_keys = load_stack_config(project, stack)
    for key, value in (overrides or {}).items():
        config[f"mlops:{key}"] = value if isinstance(value, str) else json.dumps(value)
    built: list[TargetCluster] = []
    result = run_under_mocks(
        lambda: built.append(azure.build(load_from_pulumi())),
        project=project.name,
        stack=stack,
        config=config,
        secret_keys=secret_keys,
        region="uaenorth",
    )
    return result, built[0]


@cache
def azure_prod_target() -> tuple[PreviewResult, TargetCluster]:
    """The azure-uae-prod target, previewed once per test session (component and stack tests only read it)."""
    return preview_azure_target(AZURE_STACK)

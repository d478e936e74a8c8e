"""Whole-stack previews with the platform services, each stack run once per session, and the
``feature_store.yaml`` each one rendered (captured from the component, where the preview only shows "[secret]")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from policies.preview.model import PreviewResource, PreviewResult
from policies.preview.runner import REPO_ROOT, load_project, load_stack_config, run_under_mocks

STACKS = ("aws-uae-prod", "azure-uae-prod", "onprem-dc1")
REGIONS = {"aws-uae-prod": "me-central-1", "azure-uae-prod": "uaenorth", "onprem-dc1": "dc1-abudhabi"}


@dataclass
class ServicesPreview:
    result: PreviewResult
    feature_store_yaml: list[str]
    """Every ``feature_store.yaml`` the program rendered (resolved text of the secret Output)."""

    def of_type(self, type_token: str) -> list[PreviewResource]:
        return [r for r in self.result.resources if r.type == type_token]

    def one(self, type_token: str, name: str) -> PreviewResource:
        found = [r for r in self.of_type(type_token) if r.name == name]
        assert len(found) == 1, f"expected one {type_token} {name}, found {[r.name for r in self.of_type(type_token)]}"
        return found[0]

    def under(self, component_type: str) -> list[PreviewResource]:
        """Resources created (directly or deeper) inside components of ``component_type``."""
        index = self.result.by_urn()
        roots = {r.urn for r in self.result.resources if r.type == component_type}
        found = []
        for r in self.result.resources:
            parent = r.parent
            while parent:
                if parent in roots:
                    found.append(r)
                    break
                parent = index[parent].parent if parent in index else None
        return found


def preview_services(stack: str, overrides: dict[str, Any] | None = None) -> ServicesPreview:
    """Run the whole program for a stack file under mocks; ``overrides`` replaces ``mlops:`` keys first."""
    from components.services import feature_store
    from infra.config import load_from_pulumi
    from infra.program import build

    project = load_project(REPO_ROOT)
    config, secret_keys = load_stack_config(project, stack)
    for key, value in (overrides or {}).items():
        config[f"mlops:{key}"] = value if isinstance(value, str) else json.dumps(value)
    rendered: list[str] = []
    original = feature_store.render_secret_config

    def spy(*args: Any, **kwargs: Any):
        output = original(*args, **kwargs)
        output.apply(rendered.append)
        return output

    mp = pytest.MonkeyPatch()
    mp.setattr(feature_store, "render_secret_config", spy)
    try:
        result = run_under_mocks(
            lambda: build(load_from_pulumi()),
            project=project.name,
            stack=stack,
            config=config,
            secret_keys=secret_keys,
            region=REGIONS[stack],
        )
    finally:
        mp.undo()
    return ServicesPreview(result, rendered)


_CACHE: dict[str, ServicesPreview] = {}


def stack_preview(stack: str) -> ServicesPreview:
    if stack not in _CACHE:
        _CACHE[stack] = preview_services(stack)
    return _CACHE[stack]


@pytest.fixture(scope="session")
def aws() -> ServicesPreview:
    return stack_preview("aws-uae-prod")


@pytest.fixture(scope="session")
def azure() -> ServicesPreview:
    return stack_preview("azure-uae-prod")


@pytest.fixture(scope="session")
def onprem() -> ServicesPreview:
    return stack_preview("onprem-dc1")


@pytest.fixture(scope="session", params=STACKS)
def any_stack(request: pytest.FixtureRequest) -> ServicesPreview:
    return stack_preview(request.param)

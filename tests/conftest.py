"""Shared fixtures: run Pulumi code under the recording mocks and look at what it registered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from policies.preview.model import PreviewResource, PreviewResult
from tests.venvs import require


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("requires_venv"):  # tests/venvs.py: skip, or fail under MLOPS_REQUIRE_VENVS=1
        require(**mark.kwargs)


def run_mocked(
    program: Callable[[], Any],
    *,
    stack: str = "test",
    config: dict[str, str] | None = None,
    secret_keys: list[str] | None = None,
    region: str = "me-central-1",
) -> PreviewResult:
    from policies.preview.runner import run_under_mocks

    return run_under_mocks(program, project="mlops", stack=stack, config=config, secret_keys=secret_keys, region=region)


def of_type(result: PreviewResult, type_token: str) -> list[PreviewResource]:
    return [r for r in result.resources if r.type == type_token]


def one(result: PreviewResult, type_token: str, name: str | None = None) -> PreviewResource:
    found = [r for r in of_type(result, type_token) if name is None or r.name == name]
    assert len(found) == 1, f"expected one {type_token} {name or ''}, found {[r.name for r in found]}"
    return found[0]


@pytest.fixture
def mocked() -> Callable[..., PreviewResult]:
    return run_mocked

"""The mixed program, previewed and translated once per session (previewing costs ~1 s)."""

from __future__ import annotations

import pytest

from policies.preview.model import PreviewResult
from policies.translate import translate
from policies.translate.model import TranslatedStack
from tests.conftest import run_mocked
from tests.policies.translate.programs.mixed import program


@pytest.fixture(scope="session")
def mixed_preview() -> PreviewResult:
    return run_mocked(program, stack="mixed")


@pytest.fixture(scope="session")
def mixed(mixed_preview: PreviewResult) -> TranslatedStack:
    return translate(mixed_preview)


def planned(stack: TranslatedStack, address: str) -> dict:
    return next(
        r for r in stack.files["tfplan.json"]["planned_values"]["root_module"]["resources"] if r["address"] == address
    )


def configured(stack: TranslatedStack, address: str) -> dict:
    return next(
        r for r in stack.files["tfplan.json"]["configuration"]["root_module"]["resources"] if r["address"] == address
    )

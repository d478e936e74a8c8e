"""One preview of the azure-uae-prod target shared by the Azure component tests (about a second and a half)."""

from __future__ import annotations

import pytest

from tests.components.azure.stack import azure_prod_target


@pytest.fixture(scope="session")
def azure_target():
    return azure_prod_target()


@pytest.fixture(scope="session")
def azure_prod(azure_target):
    return azure_target[0]

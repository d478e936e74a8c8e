"""The Checkov runner's tests share the gate's fake Checkov executables and the translation tests' mixed stack."""

from tests.policies.core.conftest import fake_checkov  # noqa: F401 - a fixture
from tests.policies.translate.conftest import mixed, mixed_preview  # noqa: F401 - fixtures

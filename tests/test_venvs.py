"""Missing environments skip a test, or fail it under MLOPS_REQUIRE_VENVS=1 (what `make test` runs with)."""

from __future__ import annotations

import pytest

from tests import venvs


def test_a_missing_environment_skips_naming_the_setup_command(tmp_path, monkeypatch):
    monkeypatch.delenv(venvs.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="run `make setup`"):
        venvs.require(tmp_path / "absent", "an environment")


@pytest.mark.parametrize("value", ["1", "yes"])
def test_a_missing_environment_fails_when_required(tmp_path, monkeypatch, value):
    monkeypatch.setenv(venvs.REQUIRE_ENV, value)
    with pytest.raises(pytest.fail.Exception, match="MLOPS_REQUIRE_VENVS=1"):
        venvs.require(tmp_path / "absent", "an environment")


def test_a_present_environment_runs(tmp_path, monkeypatch):
    monkeypatch.setenv(venvs.REQUIRE_ENV, "1")
    venvs.require(tmp_path, "an environment")


def test_zero_means_not_required(monkeypatch):
    monkeypatch.setenv(venvs.REQUIRE_ENV, "0")
    assert not venvs.required()


def test_the_mark_fails_under_the_requirement(monkeypatch):
    from tests.conftest import pytest_runtest_setup

    mark = venvs.requires(venvs.REPO / "absent-environment", "a test environment").mark

    class Item:
        def iter_markers(self, name):
            return iter([mark] if name == mark.name else [])

    monkeypatch.setenv(venvs.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="a test environment is missing"):
        pytest_runtest_setup(Item())

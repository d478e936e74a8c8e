"""The Checkov runner is a package with one concern per module; its public API is re-exported from the package."""

from __future__ import annotations

import importlib

from policies import checkov

HOMES = {
    "model": [
        "CHECKS_DIR",
        "DEFAULT_TIMEOUT_S",
        "FRAMEWORKS",
        "CheckovError",
        "CheckovRun",
        "CheckResult",
        "CustomCheck",
    ],
    "executable": ["checkov_executable"],
    "warm": ["WarmCheckov", "prestart"],
    "files": ["write_inputs", "framework_of", "entity_type", "stack_dirs"],
    "canary": ["CANARY_DIR"],
    "custom_checks": ["custom_checks"],
    "run": ["run_checkov"],
}


def test_the_public_api_is_the_modules_own_objects():
    for module, names in HOMES.items():
        home = importlib.import_module(f"policies.checkov.{module}")
        for name in names:
            assert getattr(checkov, name) is getattr(home, name), f"{name} from policies.checkov.{module}"
    assert set(checkov.__all__) >= {n for names in HOMES.values() for n in names}


def test_the_checks_folder_is_the_repositorys():
    assert (checkov.CHECKS_DIR / "__init__.py").is_file()
    assert checkov.CHECKS_DIR == checkov.REPO_ROOT / "policies" / "checks"

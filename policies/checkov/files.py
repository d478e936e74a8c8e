"""The translated files as Checkov reads them: one folder per stack, the framework and entity type of each file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policies.checkov.model import CheckovError

if TYPE_CHECKING:
    from policies.translate.model import Origin, TranslatedStack


def framework_of(path: str) -> str | None:
    """Which framework reads a translated file (``tfplan*.json``, ``arm*.json``, ``k8s/*.yaml``); None for others."""
    name = path.rsplit("/", 1)[-1]
    if "/" not in path and name.startswith("tfplan") and name.endswith(".json"):
        return "terraform_plan"
    if "/" not in path and name.startswith("arm") and name.endswith(".json"):
        return "arm"
    if path.startswith("k8s/") and name.endswith((".yaml", ".yml")):
        return "kubernetes"
    return None


def entity_type(framework: str, resource_id: str) -> str:
    """The entity type Checkov matches checks on, from its resource id."""
    if framework == "arm":
        slash = resource_id.rfind("/")
        dot = resource_id.find(".", slash)
        return resource_id[:dot] if dot > 0 else resource_id
    return resource_id.split(".", 1)[0]


def serialise(path: str, document: Any) -> str:
    if isinstance(document, (str, bytes)):
        return document.decode() if isinstance(document, bytes) else document
    if not path.endswith((".yaml", ".yml")):
        return json.dumps(document, indent=1, default=str)
    import yaml

    if isinstance(document, list):
        return yaml.safe_dump_all(document, sort_keys=False)
    return yaml.safe_dump(document, sort_keys=False)


def stack_dirs(stacks: list[TranslatedStack]) -> list[str]:
    """One folder name per stack, unique even when two inputs carry the same stack name."""
    names: list[str] = []
    for stack in stacks:
        base = re.sub(r"[^A-Za-z0-9._-]", "_", stack.stack) or "stack"
        name, n = base, 2
        while name in names:
            name, n = f"{base}~{n}", n + 1
        names.append(name)
    return names


def write_inputs(stacks: list[TranslatedStack], root: Path) -> dict[tuple[str, str], tuple[str, str, Origin]]:
    """Write every stack's files under ``root/<stack>/``; return Checkov's (file_path, resource id) -> origin."""
    sent: dict[tuple[str, str], tuple[str, str, Origin]] = {}
    for stack, folder in zip(stacks, stack_dirs(stacks), strict=True):
        for rel, document in stack.files.items():
            target = root / folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(serialise(rel, document))
        for (rel, resource_id), origin in stack.origins.items():
            if framework_of(rel) is None:
                raise CheckovError(
                    f"stack {stack.stack}: translated file {rel!r} is not one Checkov reads "
                    "(tfplan*.json, arm*.json, k8s/*.yaml)"
                )
            if rel not in stack.files:
                raise CheckovError(
                    f"stack {stack.stack}: resource {origin.urn} points at {rel!r}, which translation did not write"
                )
            sent[(f"/{folder}/{rel}", resource_id)] = (folder, rel, origin)
    return sent

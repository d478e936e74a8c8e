"""The custom checks a folder declares, read statically (Checkov loads them in its own environment, not here)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from policies.checkov.model import CUSTOM_PREFIX, CheckovError, CustomCheck

_BASE_MODULE_FRAMEWORK = {
    "checkov.terraform": "terraform_plan",
    "checkov.arm": "arm",
    "checkov.kubernetes": "kubernetes",
}


def _module_constants(tree: ast.Module) -> dict[str, ast.AST]:
    return {
        t.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }


def _parse(path: Path) -> ast.Module:
    try:
        return ast.parse(path.read_text(), str(path))
    except (SyntaxError, OSError, UnicodeDecodeError) as exc:
        raise CheckovError(f"custom check {path}: cannot be read: {exc}") from None


def _framework(tree: ast.Module) -> str | None:
    return next(
        (
            fw
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
            for prefix, fw in _BASE_MODULE_FRAMEWORK.items()
            if node.module.startswith(prefix)
        ),
        None,
    )


_SEVERITY_NAMES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")


def _severity(tree: ast.Module) -> str | None:
    """``severity=BcSeverities.X`` or ``self.severity = Severities[BcSeverities.X]`` -> ``X``."""
    for node in ast.walk(tree):
        value = None
        if isinstance(node, ast.keyword) and node.arg == "severity":
            value = node.value
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Attribute) and t.attr == "severity" for t in node.targets
        ):
            value = node.value
            if isinstance(value, ast.Subscript):
                value = value.slice
        if isinstance(value, ast.Attribute) and value.attr in _SEVERITY_NAMES:
            return value.attr
    return None


def _supported(call: ast.Call, constants: dict[str, ast.AST]) -> tuple[str, ...] | None:
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    kinds = next(
        (
            _literal(keywords[k], constants)
            for k in ("supported_resources", "supported_kind", "supported_entities")
            if k in keywords
        ),
        None,
    )
    return tuple(str(k) for k in kinds) if isinstance(kinds, (list, tuple)) else None


def custom_checks(checks_dir: Path) -> dict[str, CustomCheck]:
    """The ``CKV_MLOPS_*`` checks a folder declares, with the framework and entity types each applies to where they
    are literal (in the check file or a helper module beside it, e.g. a base class that fixes the kinds)."""
    found: dict[str, CustomCheck] = {}
    for path in sorted(checks_dir.rglob("*.py")):
        tree = _parse(path)
        constants = _module_constants(tree)
        framework = _framework(tree)
        inherited: tuple[str, ...] | None = None
        for node in tree.body:
            if not (isinstance(node, ast.ImportFrom) and node.module):
                continue
            sibling = path.parent / f"{node.module}.py"
            if sibling.is_file():
                sibling_tree = _parse(sibling)
                theirs = _module_constants(sibling_tree)
                constants.update({a.asname or a.name: theirs[a.name] for a in node.names if a.name in theirs})
                framework = framework or _framework(sibling_tree)
                for call in (n for n in ast.walk(sibling_tree) if isinstance(n, ast.Call)):
                    inherited = inherited or _supported(call, theirs)
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            keywords = {k.arg: k.value for k in call.keywords if k.arg}
            check_id = _literal(keywords.get("id"), constants)
            if not (isinstance(check_id, str) and check_id.startswith(CUSTOM_PREFIX)):
                continue
            resources = _supported(call, constants) or inherited or ()
            found[check_id] = CustomCheck(
                check_id, framework, resources, str(path), _severity(tree), "CheckResult.UNKNOWN" in ast.unparse(tree)
            )
    return found


def _literal(node: ast.AST | None, constants: dict[str, ast.AST]) -> Any:
    """A literal value, following module-level names; None where it is not a literal."""
    if isinstance(node, ast.Name):
        node = constants.get(node.id)
    if node is None:
        return None
    if isinstance(node, (ast.List, ast.Tuple)):
        items: list[Any] = []
        for element in node.elts:
            if isinstance(element, ast.Starred):  # ("Secret", *WORKLOADS): a literal sequence spread in
                spread = _literal(element.value, constants)
                if not isinstance(spread, list):
                    return None
                items.extend(spread)
                continue
            item = _literal(element, constants)
            if item is None:
                return None
            items.append(item)
        return items
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        return None

"""One direction through the code: the CLI (``infra.cli``) -> the program (``infra``) and the pipelines -> the gate and
the offline preview (``policies``) -> ``components``. Every module is parsed with ``ast``, so imports inside functions
and ``if TYPE_CHECKING:`` blocks count too; nothing is imported to check it.

Rules (an import of ``pkg`` also covers ``pkg.anything``):
- ``components`` imports none of ``infra``, ``policies``, ``pipelines``;
- ``policies`` (the preview included) imports neither ``infra`` nor ``pipelines``;
- ``pipelines`` imports no ``infra`` (the CLI that runs them lives in ``infra.cli``);
- ``infra`` outside ``infra.cli`` does not import ``infra.cli``; ``infra.cli`` may import anything.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("infra", "components", "policies", "pipelines")

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "components": ("infra", "policies", "pipelines"),
    "policies": ("infra", "pipelines"),
    "pipelines": ("infra",),
    "infra": ("infra.cli",),
}
"""Importer package -> the packages it must not import. ``infra.cli`` is exempt from the ``infra`` rule."""

ALLOWED_TODAY: Counter[tuple[str, str, str]] = Counter()
"""(file, imported module, runtime or type-checking) -> how many such imports the file has today. SHRINK ONLY, and
empty since the from_config adapters moved from components/ to infra/targets/ (issue #14): a new site fails, and so
does an entry whose site is gone."""


@dataclass(frozen=True)
class Import:
    path: str  # relative to the root, with /
    line: int
    importer: str  # dotted module name of the importing file
    module: str  # the module named in the statement
    targets: tuple[str, ...]  # what it imports: the module, or module.name per name of ``from m import name``
    type_checking: bool


def module_name(root: Path, file: Path) -> str:
    parts = list(file.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(root: Path, file: Path) -> list[Import]:
    """Every import statement of ``file`` (any depth), and ``importlib.import_module("literal")`` calls."""
    importer = module_name(root, file)
    package = importer if file.name == "__init__.py" else importer.rpartition(".")[0]
    rel = file.relative_to(root).as_posix()
    found: list[Import] = []

    def add(node: ast.AST, module: str, names: list[str], type_checking: bool) -> None:
        targets = tuple(module if name in ("", "*") else f"{module}.{name}" for name in names)
        found.append(Import(rel, node.lineno, importer, module, targets, type_checking))

    def visit(node: ast.AST, type_checking: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, type_checking)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(node, alias.name, [""], type_checking)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, module] if module else base)
            add(node, module, [a.name for a in node.names], type_checking)
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id in {"import_module", "__import__"})
            )
        ):
            add(node, node.args[0].value, [""], type_checking)
        for child in ast.iter_child_nodes(node):
            visit(child, type_checking)

    visit(ast.parse(file.read_text(), filename=str(file)), False)
    return found


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def check(root: Path, allowed: Counter[tuple[str, str, str]] | None = None) -> list[str]:
    """Every import against the rules, as ``file:line: message`` lines; an ``allowed`` site that no longer exists is
    reported too, so the allowance can only shrink."""
    allowed = Counter() if allowed is None else allowed
    seen: Counter[tuple[str, str, str]] = Counter()
    problems: list[str] = []
    for package in PACKAGES:
        for file in sorted((root / package).rglob("*.py")):
            for imp in imports_of(root, file):
                if package == "infra" and _within(imp.importer, "infra.cli"):
                    continue
                hit = next(
                    ((t, b) for t in (*imp.targets, imp.module) for b in FORBIDDEN[package] if _within(t, b)), None
                )
                if hit is None:
                    continue
                key = (imp.path, imp.module, "type-checking" if imp.type_checking else "runtime")
                seen[key] += 1
                if seen[key] <= allowed[key]:
                    continue
                problems.append(
                    f"{imp.path}:{imp.line}: {imp.importer} imports {hit[0]}: {package} must not import {hit[1]}"
                )
    for key, count in sorted(allowed.items()):
        if seen[key] < count:
            problems.append(
                f"{key[0]}: listed {count} {key[2]} import(s) of {key[1]}, found {seen[key]}: shrink "
                f"ALLOWED_TODAY in {Path(__file__).name}"
            )
    return problems


def test_the_code_imports_in_one_direction() -> None:
    assert check(REPO, ALLOWED_TODAY) == []


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_planted_bad_imports_fail(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "components/__init__.py": "",
            "components/a.py": "def f():\n    from infra.config import StackConfig\n",
            "components/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from policies import gate\n",
            "policies/__init__.py": "",
            "policies/preview/__init__.py": "",
            "policies/preview/runner.py": "def f():\n    import infra.config\n",
            "policies/c.py": "import importlib\nimportlib.import_module('pipelines.submit')\n",
            "pipelines/__init__.py": "",
            "pipelines/d.py": "from infra import cli\n",
            "infra/__init__.py": "",
            "infra/program.py": "from infra.cli import fail\nfrom infra import config\n",
            "infra/targets/e.py": "from ..cli import app\n",
            "infra/cli/__init__.py": "import components, pipelines, policies\nfrom infra.cli import app\n",
        },
    )
    problems = check(root)
    assert [p.split(":")[0] + ":" + p.split(": ")[1] for p in problems] == [
        "infra/program.py:infra.program imports infra.cli.fail",
        "infra/targets/e.py:infra.targets.e imports infra.cli.app",
        "components/a.py:components.a imports infra.config.StackConfig",
        "components/b.py:components.b imports policies.gate",
        "policies/c.py:policies.c imports pipelines.submit",
        "policies/preview/runner.py:policies.preview.runner imports infra.config",
        "pipelines/d.py:pipelines.d imports infra.cli",
    ]


def test_the_allowance_only_shrinks(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "components/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from infra.config import X\n",
            "components/b.py": "def f():\n    from infra.config import Y\n",
        },
    )
    allowed = Counter(
        {
            ("components/a.py", "infra.config", "type-checking"): 1,
            ("components/b.py", "infra.config", "type-checking"): 1,
            ("components/gone.py", "infra.config", "runtime"): 1,
        }
    )
    problems = check(root, allowed)
    assert len(problems) == 3, problems
    assert problems[0].startswith("components/b.py:2: components.b imports infra.config.Y")  # runtime is not listed
    assert "components/b.py: listed 1 type-checking import(s) of infra.config, found 0" in problems[1]
    assert "components/gone.py: listed 1 runtime import(s) of infra.config, found 0" in problems[2]

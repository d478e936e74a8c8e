"""Terminal rendering of a preview: the resource tree (type, name, parent) and a count per type."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from policies.preview.model import PreviewResult


def print_result(console: Console, result: PreviewResult, *, tree: bool = True) -> None:
    if tree:
        console.print(build_tree(result))
    table = Table(title=f"{result.stack}: {len(result.resources)} resources", title_justify="left")
    table.add_column("type")
    table.add_column("count", justify="right")
    for type_, count in result.counts().items():
        table.add_row(type_, str(count))
    console.print(table)
    for unknown in result.unknown_inputs:
        console.print(
            f"[yellow]unknown input[/] {unknown.urn} [bold]{unknown.input}[/] "
            f"(depends on {', '.join(unknown.depends_on) or 'an output'} that the preview could not resolve)"
        )


def build_tree(result: PreviewResult) -> Tree:
    children: dict[str | None, list] = {}
    for resource in result.resources:
        children.setdefault(resource.parent, []).append(resource)
    roots = children.get(None, [])
    label = f"[bold]{result.project}/{result.stack}[/]"
    top = Tree(label)

    def add(node: Tree, resource) -> None:
        branch = node.add(f"{resource.type} [cyan]{resource.name}[/]")
        for child in sorted(children.get(resource.urn, []), key=lambda r: (r.type, r.name)):
            add(branch, child)

    for resource in sorted(roots, key=lambda r: (r.type, r.name)):
        add(top, resource)
    return top

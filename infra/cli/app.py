"""The ``mlops`` command. Heavy libraries (pulumi SDKs, checkov, feast, torch, kfp) load inside commands only."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipelines.paths import LOCAL_RUN

app = typer.Typer(
    name="mlops",
    help="MLOps platform as code: offline previews, the policy gate, pipelines and local serving.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


@app.callback()
def _root() -> None:
    """MLOps platform as code: offline previews, the policy gate, pipelines and local serving."""


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a user-facing error (no traceback) and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@app.command()
def preview(
    stack: Annotated[list[str] | None, typer.Option("--stack", "-s", help="Stack name (repeatable).")] = None,
    all_stacks: Annotated[bool, typer.Option("--all", help="Every stack in stacks/.")] = False,
    program: Annotated[
        Path | None, typer.Option("--program", help="Any Pulumi Python program directory (with its Pulumi.yaml).")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write every resource with its resolved inputs here.")
    ] = None,
    tree: Annotated[bool, typer.Option("--tree/--no-tree", help="Print the resource tree.")] = True,
    preview_timeout: Annotated[
        float | None,
        typer.Option(
            "--preview-timeout",
            help="Seconds one stack's preview may run before it is stopped (default: $MLOPS_PREVIEW_TIMEOUT or 120; 0: no limit).",
        ),
    ] = None,
) -> None:
    """Run stacks offline under Pulumi's mocks (no Pulumi CLI, no credentials) and show what they would create.

    A program's pulumi.StackReference outputs come from its stack config key mlops:stackReferences
    ({"org/project/stack": {"outputName": value}}).
    """
    from policies.preview import report
    from policies.preview.runner import REPO_ROOT, PreviewError, load_project, preview_many

    root = program if program is not None else REPO_ROOT
    try:
        names = list(stack or [])
        if all_stacks:
            names = load_project(root).stacks()
        if not names and program is None:
            raise PreviewError("name a stack with --stack NAME, or use --all")
        results = preview_many(root, list(dict.fromkeys(names)), timeout=preview_timeout)
    except PreviewError as exc:
        raise fail(str(exc)) from None
    for result in results:
        report.print_result(console, result, tree=tree)
    if json_path is not None:
        payload = results[0].to_json() if len(results) == 1 else {"stacks": [r.to_json() for r in results]}
        try:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
        except OSError as exc:
            raise fail(f"--json {json_path}: cannot write: {exc.strerror}") from None
        console.print(f"wrote {json_path}")


@app.command()
def local(
    root: Annotated[
        Path, typer.Option(help="Working directory: feature store, pipeline runs, registry, reports.")
    ] = LOCAL_RUN,
    rows: Annotated[int, typer.Option(help="Synthetic credit applications in the embedded feature store.")] = 20_000,
    max_epochs: Annotated[int, typer.Option(help="Training epochs per trial (early stopping may end sooner).")] = 6,
) -> None:
    """The embedded local default: gate every stack, run the pipeline, deploy and serve the model, predict."""
    import time

    from infra.cli.local import StepFailed, run

    started = time.perf_counter()
    out = Console(file=sys.stdout)  # bound now: the pipeline runner swaps sys.stdout for its log while it runs
    try:
        summary = run(root, rows, max_epochs, lambda line: out.print(line, highlight=False, soft_wrap=True))
    except StepFailed as exc:
        raise fail(str(exc), code=1) from None
    console.print(f"[bold green]done[/] in {time.perf_counter() - started:.0f} s. Reports:")
    for name, where in summary.reports.items():
        console.print(f"  {name:<24} {where}", highlight=False, soft_wrap=True)


def main() -> None:
    app()

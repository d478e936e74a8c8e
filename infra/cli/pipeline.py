"""``mlops pipeline ...`` commands; ``infra.cli`` calls :func:`register`. kfp, feast and torch load inside commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pipelines.paths import LOCAL_RUN

pipeline_app = typer.Typer(help="Compile and run the train -> validate -> deploy pipeline.", no_args_is_help=True)


@pipeline_app.command("compile")
def compile_command(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write the YAML.")] = None,
) -> None:
    """Compile the pipeline to pipelines/compiled/train_validate_deploy.yaml (unchanged when already current)."""
    from pipelines.compile import COMPILED, write_compiled

    target = output or COMPILED
    changed = write_compiled(target)
    typer.echo(f"{'wrote' if changed else 'up to date:'} {target}")


@pipeline_app.command("run")
def run_command(
    local: Annotated[bool, typer.Option("--local", help="Run on this machine with KFP's SubprocessRunner.")] = False,
    rows: Annotated[int, typer.Option(help="Synthetic applications in the local feature store.")] = 20_000,
    max_epochs: Annotated[int, typer.Option(help="Epochs per trial (early stopping may end sooner).")] = 6,
    root: Annotated[Path, typer.Option(help="Working directory for the store, artifacts and logs.")] = LOCAL_RUN,
    oidc_token_file: Annotated[
        Path | None,
        typer.Option(
            help="File holding your OIDC id token: its subject is recorded as the actor of every registry action."
        ),
    ] = None,
) -> None:
    """Run the whole pipeline locally on the embedded Feast store, printing each step and where the reports went.

    Exits 0 only when the model was deployed; 1 when the release gate rejected it (the message names the gate report
    and its reasons), a step failed, or the run was interrupted (SIGTERM/SIGINT end its task processes too). Each run
    has its own id, log and directory, so concurrent runs on one --root do not mix.
    """
    from infra.cli.app import fail

    if not local:
        raise fail(
            "only --local runs are implemented by `pipeline run`; submit to a cluster with `mlops pipeline submit`"
        )
    from pipelines.features.generate import MAX_ROWS, MIN_ROWS
    from pipelines.features.store import IngestionRefused
    from pipelines.local_run import LocalRunFailed, run_local

    if not MIN_ROWS <= rows <= MAX_ROWS:
        raise fail(f"--rows must be between {MIN_ROWS} and {MAX_ROWS}, got {rows}")
    if max_epochs < 1:
        raise fail(f"--max-epochs must be at least 1, got {max_epochs}")
    if oidc_token_file is not None:
        _set_actor(oidc_token_file)
    try:
        out = sys.stdout
        result = run_local(root=root, rows=rows, max_epochs=max_epochs, echo=lambda line: typer.echo(line, file=out))
    except LocalRunFailed as exc:
        gate = exc.reports.get("gate")
        raise fail(
            str(exc) + (_rejection(gate, exc.gate_reasons) if gate and exc.gate_reasons else ""), code=1
        ) from None
    except (IngestionRefused, FileNotFoundError) as exc:
        raise fail(str(exc), code=1) from None
    typer.echo(f"pipeline run {result.run_id} finished in {result.seconds:.0f} s; gate decision: {result.decision}")
    typer.echo("  " + ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items()))
    for name, path in result.reports.items():
        typer.echo(f"  {name:16} {path}")
    typer.echo(f"  {'log':16} {result.log}")
    if result.deployment:
        typer.echo(f"  deployed {result.deployment['version']}: {result.deployment['outcome']}")
    if result.decision != "deploy":
        raise fail(
            f"the release gate rejected the model ({result.decision})"
            + _rejection(result.reports["gate"], result.gate_reasons),
            code=1,
        )


def _set_actor(token_file: Path) -> None:
    """``$MLOPS_ACTOR`` from the token's subject (the steps inherit it; the token itself is not passed on)."""
    import os

    from infra.cli import fail
    from pipelines.registry import ACTOR_ENV, RegistryError, token_subject

    try:
        os.environ[ACTOR_ENV] = token_subject(token_file.read_text())
    except OSError as exc:
        raise fail(f"--oidc-token-file {token_file}: {exc.strerror}") from None
    except RegistryError as exc:
        raise fail(f"--oidc-token-file {token_file}: {exc}") from None


def _rejection(report: Path, reasons: list[str]) -> str:
    return f"; gate report: {report}" + "".join(f"\n  - {reason}" for reason in reasons)


def register(app: typer.Typer) -> None:
    app.add_typer(pipeline_app, name="pipeline")

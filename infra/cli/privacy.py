"""``mlops data erase``: erase one data subject (registered by :mod:`infra.cli`; imports lazily).

Exit codes: 0 erased everywhere, 1 something could not be erased (named; the record says incomplete), 2 bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipelines.paths import LOCAL_RUN

data_app = typer.Typer(
    help="Data-protection operations (records of processing: policies/compliance/processing/).", no_args_is_help=True
)


@data_app.command("erase")
def erase_command(
    subject_id: Annotated[int, typer.Option("--subject-id", help="The data subject's entity id (applicant_id).")],
    root: Annotated[Path, typer.Option("--root", help="The local run's working directory.")] = LOCAL_RUN,
    feature_repo: Annotated[Path | None, typer.Option(help="Feast repository (default ROOT/feature_repo).")] = None,
    artifacts: Annotated[
        list[str] | None,
        typer.Option(
            "--artifacts",
            help="Where pipeline artifacts and dataset snapshots live: a folder or s3:// URI "
            "(repeatable; default ROOT).",
        ),
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option(
            help="Who asked for the erasure (default: as registry actions record it: the pod's ServiceAccount, $MLOPS_ACTOR, else the OS user)."
        ),
    ] = None,
) -> None:
    """Remove one data subject from the offline and online stores and from artifacts; record it (hashed id)."""
    from infra.cli import console, fail
    from pipelines.privacy.erasure import ErasureError, erase_subject

    try:
        record = erase_subject(
            subject_id,
            feature_repo=feature_repo or root / "feature_repo",
            artifact_roots=list(artifacts or [str(root)]),
            log_dir=root / "erasure",
            actor=actor,
        )
    except ErasureError as exc:
        raise fail(str(exc)) from None
    for step in record.steps:
        if step.removed or step.error:
            state = f"[red]NOT erased: {step.error}[/]" if step.error else f"{step.removed} removed"
            console.print(f"  {step.store:<9} {step.location}: {state}", highlight=False, soft_wrap=True)
    console.print(f"erasure record (subject {record.subject[:12]}...) appended to {root / 'erasure' / 'log.jsonl'}")
    if not record.complete:
        raise fail(
            "erasure incomplete; could not erase: "
            + "; ".join(f"{s.store} {s.location}" for s in record.failures)
            + ". Fix the cause and run the same command again (it is idempotent)",
            code=1,
        )
    console.print("[bold green]erased[/] everywhere listed")


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")

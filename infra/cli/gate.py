"""``mlops gate``: the Checkov policy gate. Registered into ``infra.cli``'s app; imports nothing heavy at import time.

Exit codes: 0 pass, 1 policy violations, 2 the gate could not do its job (bad flags or input, untranslatable
resource, Checkov missing / crashing / hanging / erroring / incomplete, an invalid suppression file).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer


class Interrupted(BaseException):
    """SIGTERM / SIGINT during a gate run: raised in the main thread so every ``finally`` cleans up (temporary
    folders, the Checkov process group) before the CLI exits 2."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.name = signal.Signals(signum).name


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


FORMAT_HELP = "Write the report as json, sarif, junit or html (needs --output)."


def register(app: typer.Typer) -> None:
    app.command(name="gate")(gate)


def gate(
    stack: Annotated[list[str] | None, typer.Option("--stack", "-s", help="Stack name (repeatable).")] = None,
    all_stacks: Annotated[bool, typer.Option("--all", help="Every stack in stacks/.")] = False,
    program: Annotated[Path | None, typer.Option("--program", help="Any Pulumi Python program directory.")] = None,
    preview_json: Annotated[
        list[Path] | None, typer.Option("--preview-json", help="Output of `pulumi preview --json` (repeatable).")
    ] = None,
    stack_export: Annotated[
        list[Path] | None, typer.Option("--stack-export", help="Output of `pulumi stack export` (repeatable).")
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help=FORMAT_HELP)] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where --format writes its report.")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds Checkov may run before the gate fails.")] = 300.0,
    suppressions: Annotated[
        Path | None, typer.Option("--suppressions", help="Folder of suppression files (default policies/suppressions).")
    ] = None,
    show_passed: Annotated[bool, typer.Option("--show-passed", help="List passed checks in the terminal too.")] = False,
    allow_unscanned: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-unscanned",
            help="Provider package (e.g. gcp, azure, aws-native) whose resources the gate cannot translate may go "
            "unscanned; listed as 'unscanned' in every report (repeatable).",
        ),
    ] = None,
    allow_unknown: Annotated[
        bool,
        typer.Option(
            "--allow-unknown",
            help="Inputs unknown before deployment (other than references to other resources) do not fail the "
            "gate; they are listed in every report.",
        ),
    ] = False,
) -> None:
    """Gate stacks with Checkov and this project's policies, offline: exit 0 pass, 1 violations, 2 gate error."""
    from infra.cli.app import console, fail
    from policies.reports import FORMATS

    if fmt is not None and fmt not in FORMATS:
        raise fail(f"--format {fmt!r} is not a report format; allowed: {', '.join(FORMATS)}")
    if fmt is not None and output is None:
        raise fail(f"--format {fmt} needs --output PATH (the terminal report is always printed)")
    if output is not None and fmt is None:
        raise fail(f"--output {output} needs --format ({', '.join(FORMATS)})")
    if timeout <= 0:
        raise fail(f"--timeout {timeout:g}: must be a positive number of seconds")
    if all_stacks and program is not None:
        raise fail("--all gates this project's stacks; with --program name the program's stacks with --stack")
    if not (stack or all_stacks or program or preview_json or stack_export):
        raise fail(
            "nothing to gate: give --stack NAME, --all, --program DIR, --preview-json FILE or --stack-export FILE"
        )

    from policies.reports import write
    from policies.reports.terminal import print_report

    try:
        with _interruptible():
            report = _run(
                stack,
                all_stacks,
                program,
                preview_json,
                stack_export,
                suppressions,
                timeout,
                allow_unscanned,
                allow_unknown,
            )
    except Interrupted as exc:
        raise fail(
            f"the gate could not do its job: interrupted by {exc.name}; temporary files and Checkov were cleaned up"
        ) from None
    print_report(console, report, show_passed=show_passed)
    if fmt is not None and output is not None:
        try:
            write(report, fmt, output)
        except OSError as exc:
            raise fail(f"--output {output}: cannot write: {exc.strerror}") from None
        console.print(f"wrote {fmt} report to {output}")
    raise typer.Exit(report.exit_code)


def _run(stack, all_stacks, program, preview_json, stack_export, suppressions, timeout, allow_unscanned, allow_unknown):
    from infra.cli.app import fail
    from pipelines.privacy.records import RecordError, checked_records
    from policies.checkov import prestart
    from policies.gate import GateError, collect_inputs, run_gate

    warm = None
    try:
        records = checked_records()  # invalid records of processing stop the gate, file and field named
        warm = prestart()  # Checkov's start-up runs while the stacks are previewed
        results = collect_inputs(
            stacks=stack, all_stacks=all_stacks, program=program, preview_json=preview_json, stack_export=stack_export
        )
        report = run_gate(
            results,
            suppressions_dir=suppressions,
            timeout_s=timeout,
            warm=warm,
            allow_unscanned=list(allow_unscanned or []),
            allow_unknown=allow_unknown,
        )
        report.records = records
    except (GateError, RecordError) as exc:
        raise fail(f"the gate could not do its job: {exc}") from None
    finally:
        if warm is not None:
            warm.close()
    return report

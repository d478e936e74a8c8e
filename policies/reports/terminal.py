"""The terminal report: failed and suppressed findings grouped by stack, resource and severity, then coverage."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from policies.compliance import SEVERITIES
from policies.gate import Finding, GateReport
from policies.reports import coverage_summary, not_rendered, remediation

STYLE = {"FAILED": "bold red", "SUPPRESSED": "yellow", "PASSED": "green"}


def print_report(console: Console, report: GateReport, *, show_passed: bool = False) -> None:
    for stack in report.stacks:
        counts = stack.counts()
        console.rule(f"[bold]{escape(stack.stack)}[/]  {escape(stack.source)}")
        console.print(
            f"{stack.resources_sent} resources scanned: [bold red]{counts['FAILED']} failed[/], "
            f"[yellow]{counts['SUPPRESSED']} suppressed[/], [green]{counts['PASSED']} passed[/]"
        )
        shown = [f for f in stack.findings if show_passed or f.status != "PASSED"]
        if shown:
            table = Table(show_lines=False, expand=True)
            for col in ("resource", "severity", "status", "check", "remediation / reason"):
                table.add_column(col, overflow="fold")
            by_resource: dict[str, list[Finding]] = defaultdict(list)
            for f in shown:
                by_resource[f.urn].append(f)
            for _, items in sorted(
                by_resource.items(), key=lambda kv: min(SEVERITIES.index(f.severity) for f in kv[1])
            ):
                items.sort(key=lambda f: (SEVERITIES.index(f.severity), f.status, f.check_id))
                first = items[0]
                label = f"[bold]{escape(first.name)}[/] {escape(first.type)}\n[dim]{escape(first.component or '')}[/]"
                for i, f in enumerate(items):
                    detail = remediation(f)
                    if f.suppression is not None:
                        s = f.suppression
                        detail = f"{s.reason} (until {s.expires.isoformat()}, {s.approved_by})"
                    if f.note:
                        detail += f" [{f.note}]"
                    table.add_row(
                        label if i == 0 else "",
                        f.severity,
                        f"[{STYLE[f.status]}]{f.status}[/]",
                        f"{f.check_id} {escape(f.check_name)}",
                        escape(detail),
                    )
            console.print(table)
        cov = Table(title="coverage", title_justify="left")
        for col in ("provider", "translated", "not rendered", "no checks"):
            cov.add_column(col)
        for pkg, c in coverage_summary(stack).items():
            cov.add_row(pkg, str(c["translated"]), str(c["not-rendered"]), str(c["no-checks"]))
        console.print(cov)
        for row in not_rendered(stack):
            console.print(f"  not rendered offline: {escape(row.urn.rsplit('::', 1)[-1])}: {escape(row.detail)}")
    for s in report.expired:
        console.print(
            f"[bold red]expired suppression[/] {escape(s.where)}: {s.check} {escape(s.resource)} "
            f"expired {s.expires.isoformat()}"
        )
    for s in report.unused:
        console.print(
            f"[dim]unused suppression {escape(s.where)}: {s.check} {escape(s.resource)} matched no failed finding[/]"
        )
    failed = len(report.failed)
    verdict = (
        "[bold green]PASS[/]"
        if report.exit_code == 0
        else f"[bold red]FAIL[/]: {failed} failed check(s), {len(report.expired)} expired suppression(s)"
    )
    console.print(f"gate: {verdict} (Checkov {report.checkov_version}, {report.checkov_wall_s:.1f} s)")

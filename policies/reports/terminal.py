"""The terminal report: failed and suppressed findings grouped by stack, resource and severity, then coverage."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from policies.compliance import SEVERITIES
from policies.gate import STATUS_RANK, Finding, GateReport
from policies.reports import coverage_summary, not_rendered, unknown_lines, unscanned

STYLE = {"FAILED": "bold red", "SUPPRESSED": "yellow", "PASSED": "green"}


def _worst_first(findings: list[Finding]) -> tuple[int, int]:
    return min((STATUS_RANK[f.status], SEVERITIES.index(f.severity)) for f in findings)


def _detail(f: Finding) -> str:
    if f.suppression is not None:
        s = f.suppression
        text = f"suppressed: {s.reason} (until {s.expires.isoformat()}, approved by {s.approved_by}, {s.file})"
    elif f.remediation:
        text = f"fix: {f.remediation}"
    elif f.guideline:
        text = f"see: {f.guideline}"
    else:
        text = ""
    return text + (f" [{f.note}]" if f.note else "")


def print_report(console: Console, report: GateReport, *, show_passed: bool = False) -> None:
    for stack in report.stacks:
        counts = stack.counts()
        console.rule(f"[bold]{escape(stack.stack)}[/]  {escape(stack.source)}")
        console.print(
            f"{stack.resources_sent} resources scanned: [bold red]{counts['FAILED']} failed[/], "
            f"[yellow]{counts['SUPPRESSED']} suppressed[/], [green]{counts['PASSED']} passed[/]"
        )
        by_resource: dict[str, list[Finding]] = defaultdict(list)
        for f in stack.findings:
            if show_passed or f.status != "PASSED":
                by_resource[f.urn].append(f)
        for items in sorted(by_resource.values(), key=_worst_first):
            items.sort(key=lambda f: (STATUS_RANK[f.status], SEVERITIES.index(f.severity), f.check_id))
            first = items[0]
            where = f"  [dim]in {escape(first.component)}[/]" if first.component else ""
            console.print(f"\n[bold]{escape(first.name)}[/] {escape(first.type)}{where}", highlight=False)
            console.print(f"  [dim]{escape(first.urn)}[/]", highlight=False, soft_wrap=True)
            for f in items:
                console.print(
                    f"  {f.severity:<8} [{STYLE[f.status]}]{f.status:<10}[/] {f.check_id}  {escape(f.check_name)}",
                    highlight=False,
                )
                detail = _detail(f)
                if detail:
                    console.print(f"{'':21}[dim]{escape(detail)}[/]", highlight=False)
        console.print()
        cov = Table(title="coverage", title_justify="left")
        for col in ("provider", "translated", "not rendered", "no checks", "unscanned"):
            cov.add_column(col)
        for pkg, c in coverage_summary(stack).items():
            cov.add_row(pkg, str(c["translated"]), str(c["not-rendered"]), str(c["no-checks"]), str(c["unscanned"]))
        console.print(cov)
        for row in not_rendered(stack):
            console.print(f"  not rendered offline: {escape(row.urn.rsplit('::', 1)[-1])}: {escape(row.detail)}")
        for row in unscanned(stack):
            console.print(
                f"  [bold yellow]UNSCANNED[/] {escape(row.type)} {escape(row.urn.rsplit('::', 1)[-1])}: "
                f"{escape(row.detail)}",
                highlight=False,
            )
        for line in unknown_lines(stack):
            console.print(f"  [yellow]unknown input[/] {escape(line)}", highlight=False)
    for s in report.expired:
        console.print(
            f"[bold red]expired suppression[/] {escape(s.where)}: {s.check} {escape(s.resource)} "
            f"expired {s.expires.isoformat()}"
        )
    for s in report.unapproved:
        console.print(
            f"[bold red]suppression not honoured[/] {escape(s.where)}: {s.check} {escape(s.resource)}: "
            f"approved_by {escape(s.approved_by)!r} is not a configured approver (policies/suppressions/approvers.yaml)"
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

"""A self-contained HTML report for auditors: per stack, per framework, per control, the checks behind it and
their status; findings with remediation; suppressions with reason, approver and expiry; translation coverage.
One file, inline CSS, no scripts or external assets."""

from __future__ import annotations

from collections import Counter, defaultdict
from html import escape

from policies.compliance import STATUS_ORDER
from policies.gate import Finding, GateReport, StackReport
from policies.reports import coverage_summary, not_rendered, remediation, unknown_lines, unscanned

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#1b1f24;max-width:1200px}
h1{font-size:1.6rem}h2{border-bottom:2px solid #d0d7de;padding-bottom:.3rem;margin-top:2.5rem}
table{border-collapse:collapse;width:100%;margin:.6rem 0 1.2rem}th,td{border:1px solid #d0d7de;padding:.35rem .5rem;
text-align:left;vertical-align:top;font-size:.9rem}th{background:#f6f8fa}code{font-size:.85em;word-break:break-all}
.failed{color:#fff;background:#cf222e}.passed{color:#fff;background:#1a7f37}.suppressed{color:#1b1f24;background:#d4a72c}
.not-evaluated{color:#1b1f24;background:#d0d7de}
.special{color:#fff;background:#8250df}.personal{color:#1b1f24;background:#d4a72c}.non-personal{background:#d0d7de}
.badge{padding:.1rem .45rem;border-radius:.6rem;font-size:.8rem;white-space:nowrap}
.summary td{font-weight:600}details{margin:.4rem 0}summary{cursor:pointer;font-weight:600}
"""
SUPPRESSIONS_HEAD = (
    "<table><tr><th>Check</th><th>Resource</th><th>Reason</th><th>Expires</th><th>Approved by</th><th>File</th>"
    "<th>State</th></tr>"
)


def _badge(status: str) -> str:
    cls = status.lower().replace(" ", "-")
    return f'<span class="badge {cls}">{escape(status.lower())}</span>'


def _findings_table(findings: list[Finding]) -> str:
    if not findings:
        return "<p>None.</p>"
    rows = []
    for f in findings:
        guide = (
            f' <a href="{escape(f.guideline)}">guideline</a>'
            if f.guideline and f.guideline.startswith("http")
            else (f"<br/><small>{escape(f.guideline)}</small>" if f.guideline else "")
        )
        supp = ""
        if f.suppression is not None:
            s = f.suppression
            supp = (
                f"<br/><small>Suppressed until {s.expires.isoformat()} (approved by {escape(s.approved_by)}, "
                f"{escape(s.file)}): {escape(s.reason)}</small>"
            )
        note = f"<br/><small>{escape(f.note)}</small>" if f.note else ""
        rows.append(
            f"<tr><td>{_badge(f.status)}</td><td>{escape(f.severity)}</td><td><code>{escape(f.check_id)}</code><br/>{escape(f.check_name)}</td>"
            f"<td><b>{escape(f.name)}</b> <code>{escape(f.type)}</code><br/><small><code>{escape(f.urn)}</code></small>"
            f"<br/><small>component: {escape(f.component or '-')}</small></td>"
            f"<td>{escape(remediation(f))}{guide}{supp}{note}</td></tr>"
        )
    return (
        "<table><tr><th>Status</th><th>Severity</th><th>Check</th><th>Pulumi resource</th><th>Remediation</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _stack_section(stack: StackReport, report: GateReport) -> str:
    catalog = report.catalog
    counts = stack.counts()
    parts = [
        f'<h2 id="stack-{escape(stack.stack)}">Stack {escape(stack.stack)}</h2>',
        (
            f"<p>Stack file: <code>{escape(stack.source)}</code>. Resources scanned: {stack.resources_sent}. "
            f"Checks: {counts['FAILED']} failed, {counts['SUPPRESSED']} suppressed, {counts['PASSED']} passed.</p>"
        ),
    ]
    by_check: dict[str, list[Finding]] = defaultdict(list)
    for f in stack.findings:
        by_check[f.check_id].append(f)
    for fw, controls in stack.compliance(catalog).items():
        title = catalog.frameworks[fw].get("title", fw)
        parts.append(f'<h3 id="{escape(stack.stack)}-{escape(fw)}">{escape(title)}</h3>')
        tally = Counter(c.status for c in controls)
        parts.append("<p>Controls: " + ", ".join(f"{tally[s]} {s}" for s in STATUS_ORDER) + ".</p>")
        parts.append("<table><tr><th>Control</th><th>Status</th><th>Checks behind it</th></tr>")
        for c in controls:
            ran = {cid: st for cid, st in c.checks.items() if st != "not evaluated"}
            checks = ", ".join(f"<code>{escape(cid)}</code> {_badge(st)}" for cid, st in ran.items()) or "-"
            if len(ran) < len(c.checks):
                skipped = len(c.checks) - len(ran)
                checks += f"<br/><small>{skipped} more mapped check(s) did not apply to this stack's resources</small>"
            parts.append(
                f'<tr class="control"><td><b>{escape(c.control)}</b> {escape(c.title)}</td>'
                f"<td>{_badge(c.status)}</td><td>{checks}</td></tr>"
            )
        parts.append("</table>")
        for c in controls:
            failing = [f for cid in c.checks for f in by_check.get(cid, []) if f.status != "PASSED"]
            if failing:
                parts.append(
                    f"<details open='open'><summary>{escape(c.control)} {escape(c.title)}: findings</summary>"
                    f"{_findings_table(failing)}</details>"
                )
    parts.append("<h3>All findings (failed and suppressed)</h3>")
    parts.append(_findings_table([f for f in stack.findings if f.status != "PASSED"]))
    unmapped = sorted({f.check_id for f in stack.findings} - set(catalog.checks))
    if unmapped:
        parts.append(
            "<p>Checks enforced but not mapped to a control: "
            + ", ".join(f"<code>{escape(c)}</code>" for c in unmapped)
            + "</p>"
        )
    parts.append(f"<details><summary>Passed checks ({counts['PASSED']})</summary>")
    parts.append(_findings_table([f for f in stack.findings if f.status == "PASSED"]) + "</details>")
    parts.append(
        "<h3>Translation coverage</h3><table><tr><th>Provider</th><th>Translated</th>"
        "<th>Not rendered offline</th><th>No checks</th><th>Unscanned</th></tr>"
    )
    for pkg, n in coverage_summary(stack).items():
        parts.append(
            f"<tr><td>{escape(pkg)}</td><td>{n['translated']}</td><td>{n['not-rendered']}</td><td>{n['no-checks']}</td>"
            f"<td>{n['unscanned']}</td></tr>"
        )
    parts.append("</table>")
    rendered = not_rendered(stack)
    if rendered:
        parts.append(
            "<p>Not rendered offline (charts and manifests rendered by the provider or by Helm; see each entry):</p><ul>"
        )
        parts += [f"<li><code>{escape(r.urn)}</code>: {escape(r.detail)}</li>" for r in rendered]
        parts.append("</ul>")
    gaps = unscanned(stack)
    if gaps:
        parts.append("<p><b>Unscanned</b> (allowed explicitly, not checked):</p><ul>")
        parts += [f"<li><code>{escape(r.urn)}</code>: {escape(r.detail)}</li>" for r in gaps]
        parts.append("</ul>")
    unknown = unknown_lines(stack)
    if unknown:
        parts.append("<p><b>Unknown inputs</b> (not known before deployment):</p><ul>")
        parts += [f"<li>{escape(line)}</li>" for line in unknown]
        parts.append("</ul>")
    return "\n".join(parts)


def _records_section(report: GateReport) -> str:
    """Records of processing per feature service (GDPR Art. 30, UAE PDPL Art. 7), as CI verified them."""
    from policies.compliance.records import GDPR_BASES, PDPL_BASES

    parts = ['<h2 id="records">Records of processing (GDPR Art. 30, UAE PDPL Art. 7)</h2>']
    if not report.records:
        return parts[0] + "<p>None loaded.</p>"
    parts.append(
        "<p>One record per Feast feature service, validated against the feature repository and the fairness "
        "policy's sensitive attributes (<code>policies/compliance/processing/</code>).</p>"
    )
    for r in report.records:
        basis = r.lawful_basis
        categories = "".join(
            f"<tr><td><code>{escape(c.feature)}</code></td><td>{_badge(c.category.replace('_', '-'))}</td>"
            f"<td>{escape(c.description)}</td></tr>"
            for c in r.data_categories
        )
        recipients = "".join(f"<li>{escape(x.name)}: {escape(x.purpose)}</li>" for x in r.recipients)
        transfers = (
            "".join(f"<li>{escape(t.destination)}: {escape(t.safeguard)}</li>" for t in r.international_transfers)
            or "<li>none</li>"
        )
        parts.append(
            f"<h3>Feature service <code>{escape(r.feature_service)}</code></h3><table>"
            f"<tr><th>Purpose</th><td>{escape(r.purpose)}</td></tr>"
            f"<tr><th>Data subjects</th><td>{escape(', '.join(r.data_subjects))}</td></tr>"
            f"<tr><th>Lawful basis</th><td>GDPR {escape(GDPR_BASES[basis.gdpr])} ({escape(basis.gdpr)}); UAE PDPL "
            f"{escape(PDPL_BASES[basis.uae_pdpl])} ({escape(basis.uae_pdpl)}). {escape(basis.justification)}</td></tr>"
            f"<tr><th>Retention</th><td>{r.retention.days} days. {escape(r.retention.justification)}</td></tr>"
            f"<tr><th>Recipients</th><td><ul>{recipients}</ul></td></tr>"
            f"<tr><th>Controller</th><td>{escape(r.controller.name)} &lt;{escape(r.controller.email)}&gt;</td></tr>"
            f"<tr><th>DPO</th><td>{escape(r.dpo.name)} &lt;{escape(r.dpo.email)}&gt;</td></tr>"
            f"<tr><th>Storage regions</th><td>{escape(', '.join(r.storage_regions))}</td></tr>"
            f"<tr><th>International transfers</th><td><ul>{transfers}</ul></td></tr></table>"
            f"<table><tr><th>Feature</th><th>Category</th><th>Description</th></tr>{categories}</table>"
        )
    return "\n".join(parts)


def to_html(report: GateReport) -> str:
    verdict = {0: "PASS", 1: "FAIL: policy violations"}[report.exit_code]
    supp_rows = "".join(
        f"<tr><td>{escape(s.check)}</td><td><code>{escape(s.resource)}</code></td><td>{escape(s.reason)}</td>"
        f"<td>{s.expires.isoformat()}</td><td>{escape(s.approved_by)}</td><td><code>{escape(s.file)}</code></td>"
        f"<td>{'EXPIRED' if s in report.expired else 'unused' if s in report.unused else 'active'}</td></tr>"
        for s in sorted(
            {f.suppression for f in report.findings if f.suppression} | set(report.expired) | set(report.unused),
            key=lambda s: (s.file, s.index),
        )
    )
    unapproved = "".join(
        f"<li><code>{escape(s.where)}</code>: {escape(s.check)} <code>{escape(s.resource)}</code>: approved_by "
        f"<b>{escape(s.approved_by)}</b> is not a configured approver; not honoured</li>"
        for s in report.unapproved
    )
    toc = "".join(f'<li><a href="#stack-{escape(s.stack)}">{escape(s.stack)}</a></li>' for s in report.stacks)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"/><title>MLOps policy gate report</title><style>{CSS}</style></head>
<body>
<h1>MLOps policy gate report</h1>
<p>Verdict: <b>{escape(verdict)}</b>. Date: {report.today.isoformat()}. Checkov {escape(report.checkov_version)}.
Frameworks: ISO/IEC 27001:2022 Annex A, GDPR, UAE PDPL (Federal Decree-Law No. 45 of 2021). A control is
<i>failed</i> if any check behind it failed on the stack, <i>suppressed</i> if the worst is an accepted, unexpired
suppression, <i>passed</i> if every check behind it that ran passed, <i>not evaluated</i> if no check behind it
applied to the stack's resources.</p>
<ul>{toc}<li><a href="#records">Records of processing</a></li></ul>
<h2>Suppressions</h2>
{SUPPRESSIONS_HEAD + supp_rows + "</table>" if supp_rows else "<p>None.</p>"}
{"<h3>Suppressions not honoured</h3><ul>" + unapproved + "</ul>" if unapproved else ""}
{"".join(_stack_section(s, report) for s in report.stacks)}
{_records_section(report)}
</body></html>
"""

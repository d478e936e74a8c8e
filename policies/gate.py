"""The policy gate: previews -> translation -> one Checkov run -> suppressions -> findings, coverage, compliance.

Exit codes: 0 every check passed (or is suppressed by a valid, unexpired suppression); 1 policy violations (failed
checks, expired suppressions); 2 the gate could not do its job (:class:`GateError`: bad input, untranslatable
resource, Checkov missing / crashing / hanging / erroring / incomplete, an invalid suppression file).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policies.compliance import Catalog, ControlStatus, control_statuses, load_catalog
from policies.preview.model import PreviewResult
from policies.suppressions import Suppression

if TYPE_CHECKING:
    from policies.checkov import CheckResult, WarmCheckov
    from policies.translate.model import CoverageRow, TranslatedStack, UnknownValue

EXIT_PASS, EXIT_VIOLATIONS, EXIT_ERROR = 0, 1, 2
STATUS_RANK = {"FAILED": 0, "SUPPRESSED": 1, "PASSED": 2}


class GateError(Exception):
    """The gate could not do its job (exit 2). The message is for the user, as is."""


@dataclass
class Finding:
    """One check on one Pulumi resource, with the gate's verdict."""

    stack: str
    check_id: str
    check_name: str
    status: str
    """PASSED, FAILED or SUPPRESSED."""
    severity: str
    urn: str
    name: str
    type: str
    component: str | None
    stack_file: str
    file: str
    """The translated file and the id Checkov gave the resource in it: what the finding was raised on."""
    resource_id: str
    guideline: str | None = None
    remediation: str = ""
    suppression: Suppression | None = None
    note: str = ""


@dataclass
class StackReport:
    stack: str
    source: str
    findings: list[Finding] = field(default_factory=list)
    coverage: list[CoverageRow] = field(default_factory=list)
    """CoverageRow records from translation."""
    resources_sent: int = 0
    unknown: list[UnknownValue] = field(default_factory=list)
    """Unknown inputs of translated resources (references set to a placeholder, settings left out)."""

    def check_statuses(self) -> dict[str, str]:
        """check id -> worst status on this stack, in the compliance vocabulary (failed / suppressed / passed)."""
        worst: dict[str, str] = {}
        for f in self.findings:
            if f.check_id not in worst or STATUS_RANK[f.status] < STATUS_RANK[worst[f.check_id]]:
                worst[f.check_id] = f.status
        return {k: v.lower() for k, v in worst.items()}

    def compliance(self, catalog: Catalog) -> dict[str, list[ControlStatus]]:
        return control_statuses(catalog, self.check_statuses())

    def counts(self) -> Counter:
        return Counter(f.status for f in self.findings)


@dataclass
class GateReport:
    stacks: list[StackReport]
    catalog: Catalog
    expired: list[Suppression] = field(default_factory=list)
    unused: list[Suppression] = field(default_factory=list)
    unapproved: list[Suppression] = field(default_factory=list)
    """Suppressions whose approved_by is not a configured approver: not honoured, their findings stay FAILED."""
    checkov_version: str = ""
    checkov_wall_s: float = 0.0
    today: dt.date = field(default_factory=dt.date.today)
    records: list[Any] = field(default_factory=list)
    """Records of processing (:class:`policies.compliance.records.Record`), validated and verified against the feature
    repository (``checked_records``, by ``mlops gate``): the auditor reads them next to
    the controls."""

    @property
    def findings(self) -> list[Finding]:
        return [f for s in self.stacks for f in s.findings]

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "FAILED"]

    @property
    def exit_code(self) -> int:
        return EXIT_VIOLATIONS if self.failed or self.expired else EXIT_PASS


def collect_inputs(
    *,
    stacks: list[str] | None = None,
    all_stacks: bool = False,
    program: Path | None = None,
    preview_json: list[Path] | None = None,
    stack_export: list[Path] | None = None,
) -> list[PreviewResult]:
    """Every input asked for, as preview results (raises GateError with the input's own message)."""
    from policies import inputs

    try:
        results: list[PreviewResult] = []
        if program is not None:
            results += inputs.from_program(program, list(stacks or []))
        else:
            names = list(dict.fromkeys((inputs.project_stack_names() if all_stacks else []) + list(stacks or [])))
            results += inputs.from_project_stacks(names)
        for path in preview_json or []:
            results += inputs.from_preview_json(path)
        for path in stack_export or []:
            results += inputs.from_stack_export(path)
    except inputs.InputError as exc:
        raise GateError(str(exc)) from None
    if not results:
        raise GateError(
            "nothing to gate: give --stack NAME, --all, --program DIR, --preview-json FILE or --stack-export FILE"
        )
    return results


def run_gate(
    results: list[PreviewResult],
    *,
    checks_dir: Path | None = None,
    suppressions_dir: Path | None = None,
    timeout_s: float | None = None,
    today: dt.date | None = None,
    keep_dir: Path | None = None,
    warm: WarmCheckov | None = None,
    allow_unscanned: list[str] | None = None,
    allow_unknown: bool = False,
) -> GateReport:
    """Gate the previewed stacks: translate, scan in one Checkov run, apply suppressions; raise GateError for exit 2.
    ``warm``: a Checkov process :func:`policies.checkov.prestart` started before the previews."""
    from policies import suppressions as supp
    from policies.checkov import DEFAULT_TIMEOUT_S, CheckovError, run_checkov
    from policies.compliance import CatalogError
    from policies.translate import translate_all

    today = today or dt.date.today()
    repeated = sorted(name for name, n in Counter(r.stack for r in results).items() if n > 1)
    if repeated:
        raise GateError(f"stack {', '.join(repeated)} given more than once: gate each stack once per run")
    try:
        catalog = load_catalog()
        rules = supp.load([r.stack for r in results], suppressions_dir)
        approvers = supp.load_approvers(suppressions_dir)
    except (CatalogError, supp.SuppressionFileError) as exc:
        raise GateError(str(exc)) from None
    try:
        translated = translate_all(results, allow_unscanned=allow_unscanned or ())
    except Exception as exc:
        raise GateError(f"translation failed: {type(exc).__name__}: {exc}") from exc
    errors = [e for t in translated for e in t.errors]
    if errors:
        raise GateError("resources that must be gated cannot be translated for Checkov:\n  " + "\n  ".join(errors))
    unknown = [u for t in translated for u in t.unknown_settings]
    if unknown and not allow_unknown:
        shown = "\n  ".join(f"{u.type} {u.name!r}: {u.path}" for u in unknown[:30])
        more = f"\n  ... and {len(unknown) - 30} more" if len(unknown) > 30 else ""
        raise GateError(
            "inputs unknown before deployment cannot be checked (the checks would judge them as unset):\n  "
            f"{shown}{more}\n"
            "pass --allow-unknown to gate anyway; every report then lists them"
        )
    if sum(t.resource_count() for t in translated) == 0:
        raise GateError(
            "nothing was scanned: no resource of "
            + ", ".join(f"{t.stack} ({t.source})" for t in translated)
            + " translated to a file Checkov reads; a gate that scanned nothing cannot pass"
        )
    try:
        run = run_checkov(
            translated, checks_dir=checks_dir, timeout_s=timeout_s or DEFAULT_TIMEOUT_S, keep_dir=keep_dir, warm=warm
        )
    except CheckovError as exc:
        raise GateError(str(exc)) from None

    return assemble(
        translated,
        run.results,
        rules,
        catalog,
        today,
        checkov_version=run.version,
        checkov_wall_s=run.wall_s,
        approvers=approvers,
    )


def assemble(
    translated: list[TranslatedStack],
    results: list[CheckResult],
    rules: list[Suppression],
    catalog: Catalog,
    today: dt.date,
    *,
    checkov_version: str = "",
    checkov_wall_s: float = 0.0,
    approvers: frozenset[str] | None = None,
) -> GateReport:
    """Checkov's traced results -> findings with the gate's verdicts (suppressions applied), per stack.
    ``approvers``: whose approval is honoured (None: the caller checked already, e.g. unit tests)."""
    from policies.translate.kubernetes import patch_result_counts

    # a *Patch is part of an object: only FAILED results on fields it sets count (policies/translate/kubernetes.py)
    results = [r for r in results if patch_result_counts(r)]
    unapproved = [s for s in rules if approvers is not None and s.approved_by not in approvers]
    active = [s for s in rules if not s.expired(today) and s not in unapproved]
    used: set[tuple[str, int]] = set()
    reports = {
        t.stack: StackReport(
            t.stack, t.source, coverage=t.coverage, resources_sent=t.resource_count(), unknown=list(t.unknown)
        )
        for t in translated
    }
    worst: dict[tuple[str, str, str], CheckResult] = {}
    rank = {"FAILED": 0, "SKIPPED": 0, "PASSED": 1}
    for result in results:
        # one verdict per check and Pulumi resource: a workload and its pod template are the same resource
        key = (result.origin.stack, result.check_id, result.origin.urn)
        if key not in worst or rank.get(result.result, 0) < rank.get(worst[key].result, 0):
            worst[key] = result
    for result in worst.values():
        origin = result.origin
        info = catalog.info(result.check_id)
        status, note, suppression = result.result, "", None
        if status == "SKIPPED":
            status, note = "FAILED", "skipped inside the scanned file, not by a reviewed suppression"
        if status == "FAILED":
            suppression = next(
                (s for s in active if s.matches(result.check_id, origin.stack, origin.urn, origin.name)), None
            )
            if suppression is not None:
                status = "SUPPRESSED"
                used.add((suppression.file, suppression.index))
            else:
                expired = next(
                    (
                        s
                        for s in rules
                        if s.expired(today) and s.matches(result.check_id, origin.stack, origin.urn, origin.name)
                    ),
                    None,
                )
                pending = next(
                    (s for s in unapproved if s.matches(result.check_id, origin.stack, origin.urn, origin.name)),
                    None,
                )
                if expired is not None:
                    note = f"suppression expired on {expired.expires.isoformat()} ({expired.where})"
                elif pending is not None:
                    note = (
                        f"suppression not honoured: approved_by {pending.approved_by!r} is not a configured approver "
                        f"({pending.where}; approvers are listed in policies/suppressions/approvers.yaml)"
                    )
        reports[origin.stack].findings.append(
            Finding(
                stack=origin.stack,
                check_id=result.check_id,
                check_name=result.check_name,
                status=status,
                severity=info.severity,
                urn=origin.urn,
                name=origin.name,
                type=origin.type,
                component=origin.component,
                stack_file=origin.stack_file,
                file=result.file,
                resource_id=result.resource_id,
                guideline=result.guideline,
                remediation=info.remediation,
                suppression=suppression,
                note=note,
            )
        )
    for report in reports.values():
        report.findings.sort(key=lambda f: (STATUS_RANK[f.status], f.urn, f.check_id))
    return GateReport(
        stacks=list(reports.values()),
        catalog=catalog,
        expired=[s for s in rules if s.expired(today)],
        unused=[s for s in active if (s.file, s.index) not in used],
        unapproved=unapproved,
        checkov_version=checkov_version,
        checkov_wall_s=checkov_wall_s,
        today=today,
    )

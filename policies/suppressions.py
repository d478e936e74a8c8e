"""Reviewed suppressions: the only way to accept a finding.

Files: ``policies/suppressions/global.yaml`` (every stack) and ``policies/suppressions/<stack>.yaml``::

    suppressions:
      - check: CKV_AWS_144                 # one Checkov check id
        resource: "*-artifacts"            # URN or Pulumi resource name; shell-style globs allowed
        reason: cross-region replication is forbidden by the residency rule
        expires: 2027-03-31                # ISO date; the suppression stops applying after this day
        approved_by: security@example.com

Rules (see policies/suppressions/README.md): every field is required. A file or entry that breaks them (no
reason, no expiry, a date that is not ISO, an unknown key) is a :class:`SuppressionFileError`: the gate cannot
tell what was reviewed, so it stops with exit 2. An expired suppression no longer applies (its findings fail again)
and is itself a violation (exit 1) until someone renews or removes it. Suppressed findings stay in every report.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUPPRESSIONS_DIR = Path(__file__).resolve().parent / "suppressions"
APPROVERS_FILE = "approvers.yaml"
"""In the suppressions folder: ``approvers:`` the identities whose approval the gate honours."""
REQUIRED = ("check", "resource", "reason", "expires", "approved_by")
_CHECK_ID = re.compile(r"^CKV[A-Z0-9_]*_[0-9]+$")
MIN_REASON_CHARS = 10


class SuppressionFileError(Exception):
    """A suppression file the gate cannot trust. The message names the file, the entry and the field."""


@dataclass(frozen=True)
class Suppression:
    check: str
    resource: str
    reason: str
    expires: dt.date
    approved_by: str
    file: str
    index: int
    stack: str | None
    """None for the global file."""

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def matches(self, check_id: str, stack: str, urn: str, name: str) -> bool:
        if self.stack not in (None, stack) or self.check != check_id:
            return False
        return fnmatch.fnmatchcase(urn, self.resource) or fnmatch.fnmatchcase(name, self.resource)

    @property
    def where(self) -> str:
        return f"{self.file}: suppressions[{self.index}]"


def expiry_date(value: Any) -> dt.date | None:
    """An ``expires`` field as a date (YAML date or ISO text); None for anything else (``2027-02-30``, a datetime)."""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            return None
    return value if isinstance(value, dt.date) and not isinstance(value, dt.datetime) else None


def _entry(raw: Any, path: Path, index: int, stack: str | None) -> Suppression:
    where = f"{path}: suppressions[{index}]"
    if not isinstance(raw, dict):
        raise SuppressionFileError(f"{where}: must be a mapping with {', '.join(REQUIRED)}")
    unknown = sorted(set(raw) - set(REQUIRED))
    if unknown:
        raise SuppressionFileError(
            f"{where}: unknown key(s) {', '.join(map(str, unknown))}; allowed: {', '.join(REQUIRED)}"
        )
    missing = [k for k in REQUIRED if raw.get(k) in (None, "")]
    if missing:
        raise SuppressionFileError(
            f"{where}: {', '.join(missing)} missing; a suppression needs a check id, a resource, a reason, "
            "an expiry date and who approved it"
        )
    check = str(raw["check"]).strip()
    if not _CHECK_ID.match(check):
        raise SuppressionFileError(
            f"{where}: check = {check!r} is not a Checkov check id (e.g. CKV_AWS_144, CKV_MLOPS_001)"
        )
    reason = str(raw["reason"]).strip()
    if len(reason) < MIN_REASON_CHARS:
        raise SuppressionFileError(
            f"{where}: reason = {reason!r} is too short to be reviewed; say why the risk is accepted"
        )
    expires = expiry_date(raw["expires"])
    if expires is None:
        raise SuppressionFileError(f"{where}: expires = {raw['expires']!r} is not an ISO date (YYYY-MM-DD)")
    return Suppression(
        check, str(raw["resource"]).strip(), reason, expires, str(raw["approved_by"]).strip(), str(path), index, stack
    )


def _loader() -> Any:
    """A safe YAML loader that keeps dates as text, so an impossible date (``2027-02-30``) is reported on its entry
    and field instead of failing inside the YAML parser."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))
    return Loader


def load_file(path: Path, stack: str | None) -> list[Suppression]:
    import yaml

    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_loader())
    except UnicodeDecodeError:
        raise SuppressionFileError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise SuppressionFileError(f"{path}: cannot be read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SuppressionFileError(f"{path}: not valid YAML: {exc}") from None
    if doc is None:
        return []
    if not isinstance(doc, dict) or set(doc) - {"suppressions"} or not isinstance(doc.get("suppressions") or [], list):
        raise SuppressionFileError(f"{path}: expected a mapping with one key, 'suppressions', holding a list")
    return [_entry(raw, path, i, stack) for i, raw in enumerate(doc.get("suppressions") or [])]


def load_approvers(directory: Path | None = None) -> frozenset[str]:
    """The configured approvers (``<suppressions folder>/approvers.yaml``); missing or malformed is an error: without
    it the gate cannot tell a reviewed suppression from a placeholder such as PENDING-SECURITY-REVIEW."""
    import yaml

    path = (directory or SUPPRESSIONS_DIR) / APPROVERS_FILE
    shape = "expected a mapping with one key, 'approvers', holding a non-empty list of approver identities"
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SuppressionFileError(
            f"{path}: missing; it lists who may approve suppressions ({shape}); without it no suppression can be "
            "honoured"
        ) from None
    except OSError as exc:
        raise SuppressionFileError(f"{path}: cannot be read: {exc.strerror}") from None
    except (yaml.YAMLError, ValueError, UnicodeDecodeError) as exc:
        raise SuppressionFileError(f"{path}: not valid YAML: {exc}") from None
    approvers = doc.get("approvers") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or set(doc) != {"approvers"} or not isinstance(approvers, list) or not approvers:
        raise SuppressionFileError(f"{path}: {shape}")
    bad = [a for a in approvers if not isinstance(a, str) or not a.strip()]
    if bad:
        raise SuppressionFileError(f"{path}: approvers: {bad[0]!r} is not an approver identity (a non-empty string)")
    return frozenset(a.strip() for a in approvers)


def load(stacks: list[str], directory: Path | None = None) -> list[Suppression]:
    """The global file and the files of the stacks gated; a missing file means no suppressions."""
    directory = directory or SUPPRESSIONS_DIR
    if not directory.is_dir():
        raise SuppressionFileError(f"suppressions folder {directory} does not exist")
    found: list[Suppression] = []
    candidates = [(directory / "global.yaml", None)] + [(directory / f"{s}.yaml", s) for s in dict.fromkeys(stacks)]
    for path, stack in candidates:
        if path.is_file():
            found.extend(load_file(path, stack))
    return found

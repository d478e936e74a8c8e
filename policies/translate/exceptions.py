"""Reviewed, expiring exceptions for Kubernetes sources the gate cannot render offline (Helm charts, remote
manifests and kustomizations): the only way such a resource passes the gate, and then as an ``unscanned`` row.

File: ``policies/exceptions/unrendered.yaml`` (``MLOPS_UNRENDERED_EXCEPTIONS`` names another one)::

    exceptions:
      - chart: gpu-operator                       # chart name, manifest file or kustomization path
        version: v25.10.1                         # exact version / tag / git ref: another version does not match
        repo: https://helm.ngc.nvidia.com/nvidia  # Helm repo, OCI registry path, git repository
        reason: why it cannot be rendered here and where it is reviewed instead
        approved_by: ml-platform-team
        expires: 2027-03-31                       # ISO date; after it the exception is an error (exit 2)

How a resource's (chart, version, repo) is read (:func:`source_of`):

- Helm ``Release``/``Chart``: ``chart``, ``version``, and ``repositoryOpts.repo`` (or ``repo``); an OCI reference
  ``oci://host/path/name`` in ``chart`` is split into repo ``oci://host/path`` and chart ``name``.
- ``kustomize`` ``Directory`` with a remote target ``host/org/repo/path?ref=REF``: repo ``host/org/repo``,
  chart ``path``, version ``REF``.
- ``yaml`` ``ConfigFile``/``ConfigGroup`` with a URL ``https://github.com/O/R/releases/download/TAG/FILE``: repo
  ``https://github.com/O/R``, chart ``FILE``, version ``TAG``; any other URL: repo = the URL's folder, chart = its
  file name, no version (so no exception can match an unpinned URL).

Every field is required and compared exactly. A file or entry that breaks the schema (unknown key, missing field,
a date that is not ISO) is an :class:`ExceptionFileError`: the gate cannot tell what was reviewed and exits 2.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies.suppressions import MIN_REASON_CHARS, expiry_date

EXCEPTIONS_FILE = Path(__file__).resolve().parents[1] / "exceptions" / "unrendered.yaml"
ENV_VAR = "MLOPS_UNRENDERED_EXCEPTIONS"
REQUIRED = ("chart", "version", "repo", "reason", "approved_by", "expires")
_GITHUB_RELEASE = re.compile(r"^(https://github\.com/[^/]+/[^/]+)/releases/download/([^/]+)/([^/?#]+)$")
_REMOTE_KUSTOMIZE = re.compile(
    r"^(?:https?://|git::)?((?:github\.com|gitlab\.com|bitbucket\.org)/[^/]+/[^/?]+?)(?:\.git)?/+([^?]*)\?(?:.*&)?ref=([^&]+)"
)


class ExceptionFileError(Exception):
    """An exceptions file the gate cannot trust; the message names the file, the entry and the field."""


@dataclass(frozen=True)
class Source:
    chart: str
    version: str
    repo: str

    def __str__(self) -> str:
        return f"{self.chart} {self.version or '(no version pinned)'} from {self.repo or '(no repository)'}"


@dataclass(frozen=True)
class UnrenderedException:
    chart: str
    version: str
    repo: str
    reason: str
    approved_by: str
    expires: dt.date
    file: str
    index: int

    @property
    def where(self) -> str:
        return f"{self.file}: exceptions[{self.index}]"

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def matches(self, source: Source) -> bool:
        return (self.chart, self.version, self.repo) == (source.chart, source.version, source.repo)

    def describe(self) -> str:
        return (
            f"exception {self.where} (chart {self.chart}, version {self.version}, repo {self.repo}, "
            f"approved by {self.approved_by}, expires {self.expires.isoformat()}): {self.reason}"
        )


def exceptions_path() -> Path:
    override = os.environ.get(ENV_VAR)
    return Path(override) if override else EXCEPTIONS_FILE


def _entry(raw: Any, path: Path, index: int) -> UnrenderedException:
    where = f"{path}: exceptions[{index}]"
    if not isinstance(raw, dict):
        raise ExceptionFileError(f"{where}: must be a mapping with {', '.join(REQUIRED)}")
    unknown = sorted(map(str, set(raw) - set(REQUIRED)))
    if unknown:
        raise ExceptionFileError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(REQUIRED)}")
    missing = [k for k in REQUIRED if raw.get(k) in (None, "")]
    if missing:
        raise ExceptionFileError(
            f"{where}: {', '.join(missing)} missing; an exception needs chart, version, repo, reason, approved_by "
            "and expires"
        )
    for key in ("chart", "version", "repo", "approved_by", "reason"):
        if not isinstance(raw[key], (str, int, float)) or isinstance(raw[key], bool):
            raise ExceptionFileError(f"{where}: {key} = {raw[key]!r} must be a string")
    reason = str(raw["reason"]).strip()
    if len(reason) < MIN_REASON_CHARS:
        raise ExceptionFileError(f"{where}: reason = {reason!r} is too short to be reviewed")
    expires = expiry_date(raw["expires"])
    if expires is None:
        raise ExceptionFileError(f"{where}: expires = {raw['expires']!r} is not an ISO date (YYYY-MM-DD)")
    return UnrenderedException(
        str(raw["chart"]).strip(),
        str(raw["version"]).strip(),
        str(raw["repo"]).strip(),
        reason,
        str(raw["approved_by"]).strip(),
        expires,
        str(path),
        index,
    )


def load(path: Path | None = None) -> list[UnrenderedException]:
    """Every entry of the exceptions file; a missing file means no exceptions (every unrendered source fails)."""
    import yaml

    path = path or exceptions_path()
    if not path.exists():
        return []
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ExceptionFileError(f"{path}: cannot be read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ExceptionFileError(f"{path}: not valid YAML: {exc}") from None
    if doc is None:
        return []
    if not isinstance(doc, dict) or set(doc) - {"exceptions"} or not isinstance(doc.get("exceptions") or [], list):
        raise ExceptionFileError(f"{path}: expected a mapping with one key, 'exceptions', holding a list")
    return [_entry(raw, path, i) for i, raw in enumerate(doc.get("exceptions") or [])]


def source_of_helm(inputs: dict[str, Any]) -> Source:
    chart = str(inputs.get("chart") or "")
    opts = inputs.get("repositoryOpts") or {}
    repo = str((opts.get("repo") if isinstance(opts, dict) else None) or inputs.get("repo") or "")
    if chart.startswith("oci://") and not repo:
        repo, _, chart = chart.rpartition("/")
    return Source(chart, str(inputs.get("version") or ""), repo)


def source_of_url(url: str) -> Source:
    """A remote manifest or kustomization target."""
    found = _GITHUB_RELEASE.match(url)
    if found:
        return Source(found.group(3), found.group(2), found.group(1))
    found = _REMOTE_KUSTOMIZE.match(url)
    if found:
        return Source(found.group(2).strip("/"), found.group(3), found.group(1))
    folder, _, name = url.split("?", 1)[0].rstrip("/").rpartition("/")
    return Source(name, "", folder)


def find(
    source: Source, entries: list[UnrenderedException], today: dt.date
) -> tuple[UnrenderedException | None, str | None]:
    """(the matching, unexpired exception, None) or (None, why there is none)."""
    matching = [e for e in entries if e.matches(source)]
    active = [e for e in matching if not e.expired(today)]
    if active:
        return active[0], None
    if matching:
        e = matching[0]
        return None, f"its exception {e.where} expired on {e.expires.isoformat()}: renew or remove it"
    same_chart = [e for e in entries if e.chart == source.chart and e.repo == source.repo]
    if same_chart:
        return None, (
            f"no exception for this version ({source.version or 'none pinned'}); "
            f"{same_chart[0].where} is for version {same_chart[0].version}"
        )
    return None, f"no exception for it in {exceptions_path()}"

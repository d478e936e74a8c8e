"""Compliance mapping: which controls of ISO/IEC 27001:2022 Annex A, GDPR and the UAE PDPL each check evidences.

``frameworks.yaml`` holds the controls and their titles; ``checks.yaml`` maps check ids (built-in and
``CKV_MLOPS_*``) to severities, themes (sets of controls) and remediation text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
DEFAULT_SEVERITY = "MEDIUM"
STATUS_ORDER = ("failed", "suppressed", "passed", "not evaluated")


@dataclass(frozen=True)
class CheckInfo:
    severity: str = DEFAULT_SEVERITY
    remediation: str = ""
    controls: tuple[tuple[str, str], ...] = ()
    """(framework key, control id) pairs."""


@dataclass
class Catalog:
    frameworks: dict[str, dict[str, Any]]
    """framework key -> {"title": ..., "controls": {control id: title}}"""
    checks: dict[str, CheckInfo] = field(default_factory=dict)

    def info(self, check_id: str) -> CheckInfo:
        return self.checks.get(check_id, CheckInfo())

    def checks_for(self, framework: str, control: str) -> list[str]:
        return sorted(c for c, info in self.checks.items() if (framework, control) in info.controls)


class CatalogError(Exception):
    """The mapping files are inconsistent; the message names the file and entry."""


def _load_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: cannot be read as YAML: {exc}") from None


@cache
def load_catalog(directory: Path = HERE) -> Catalog:
    frameworks = (_load_yaml(directory / "frameworks.yaml") or {}).get("frameworks") or {}
    doc = _load_yaml(directory / "checks.yaml") or {}
    themes: dict[str, dict[str, list[str]]] = doc.get("themes") or {}
    checks_file = directory / "checks.yaml"
    for theme, refs in themes.items():
        for fw, theme_controls in refs.items():
            known = (frameworks.get(fw) or {}).get("controls") or {}
            for control in theme_controls:
                if control not in known:
                    raise CatalogError(
                        f"{checks_file}: theme {theme}: {fw} control {control!r} is not in frameworks.yaml"
                    )
    checks: dict[str, CheckInfo] = {}
    for check_id, entry in (doc.get("checks") or {}).items():
        severity = str(entry.get("severity", DEFAULT_SEVERITY)).upper()
        if severity not in SEVERITIES:
            raise CatalogError(f"{checks_file}: {check_id}: severity {severity!r}; allowed: {', '.join(SEVERITIES)}")
        controls: list[tuple[str, str]] = []
        for theme in entry.get("themes") or []:
            if theme not in themes:
                raise CatalogError(f"{checks_file}: {check_id}: unknown theme {theme!r}; themes: {', '.join(themes)}")
            controls += [(fw, c) for fw, cs in themes[theme].items() for c in cs]
        checks[check_id] = CheckInfo(severity, str(entry.get("remediation") or ""), tuple(dict.fromkeys(controls)))
    return Catalog(frameworks, checks)


@dataclass
class ControlStatus:
    framework: str
    control: str
    title: str
    status: str
    """failed / suppressed / passed / not evaluated (no check behind it ran on this stack)."""
    checks: dict[str, str]
    """check id -> its status on this stack (same vocabulary)."""


def control_statuses(catalog: Catalog, check_status: dict[str, str]) -> dict[str, list[ControlStatus]]:
    """Per framework, each control with the checks behind it and the worst of their statuses on one stack."""
    out: dict[str, list[ControlStatus]] = {}
    for fw, spec in catalog.frameworks.items():
        rows = []
        for control, title in (spec.get("controls") or {}).items():
            behind = {c: check_status.get(c, "not evaluated") for c in catalog.checks_for(fw, control)}
            evaluated = [s for s in behind.values() if s != "not evaluated"]
            status = min(evaluated, key=STATUS_ORDER.index) if evaluated else "not evaluated"
            rows.append(ControlStatus(fw, control, str(title), status, behind))
        out[fw] = rows
    return out

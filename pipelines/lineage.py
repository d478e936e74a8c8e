"""Lineage of a model version: which data, code, parameters and checks produced it, and where it was deployed.

:func:`build_record` makes the record the deploy step stores with the registry (locally in the registry's index; on
a cluster in the deploy step's ``lineage`` artifact and the InferenceService's annotations). :func:`render` prints
it for ``mlops lineage``. Standard library only (the deploy step carries it to the cluster).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

SCHEMA_VERSION = 1
REQUIRED = (
    "feature_service",
    "time_range",
    "rows_asked",
    "rows_got",
    "data_hash",
    "git_commit",
    "parameters",
    "metrics",
    "artifact_uri",
    "sha256",
    "gate",
)


class LineageIncomplete(ValueError):
    """A lineage record lacks a field every run must record."""


def git_commit(repo: Path | str | None = None) -> str:
    """``HEAD`` of the repository holding the code (``-dirty`` when tracked files changed), or ``"unknown"``.

    Without ``repo``: this module's checkout, else the working directory's (a pipeline step runs an embedded copy
    of the code, outside any checkout; the local runner starts it in the checkout).
    """
    candidates = [repo] if repo else [Path(__file__).resolve().parents[1], Path.cwd()]
    for cwd in candidates:
        try:
            head = subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=str(cwd), capture_output=True, text=True, timeout=10, check=False
            )
            if head.returncode != 0:
                continue
            dirty = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=str(cwd),
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
            return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
        except (OSError, subprocess.SubprocessError):
            continue
    return "unknown"


def build_record(
    *,
    model_name: str,
    version: str,
    data: dict,
    git: str,
    parameters: dict,
    metrics: dict,
    artifact_uri: str,
    sha256: str,
    gate: dict,
    pipeline_run: str = "",
) -> dict:
    """The lineage record of one run. ``data`` is the load step's metadata (feature service, time range, row counts
    asked/got, data hash); ``gate`` is ``{"decision", "reasons"}``. Raises :class:`LineageIncomplete` on gaps."""
    record = {
        "schema": SCHEMA_VERSION,
        "model": model_name,
        "version": version,
        "pipeline_run": pipeline_run,
        "feature_service": data.get("feature_service"),
        "time_range": data.get("time_range"),
        "rows_asked": data.get("rows_asked"),
        "rows_got": data.get("rows_got"),
        "data_hash": data.get("data_hash"),
        "git_commit": git,
        "parameters": parameters,
        "metrics": metrics,
        "artifact_uri": artifact_uri,
        "sha256": sha256,
        "gate": {"decision": gate.get("decision"), "reasons": list(gate.get("reasons", []))},
    }
    missing = [k for k in REQUIRED if record[k] in (None, "", {}, [])]
    if missing:
        raise LineageIncomplete(f"lineage of {model_name} {version} lacks {', '.join(missing)}")
    return record


def rows(record: dict) -> list[tuple[str, str]]:
    """(field, value) pairs in reading order, values flattened to text."""
    out = [
        ("model", f"{record.get('model')} {record.get('version')}"),
        ("registered", str(record.get("registered_at", ""))),
        ("registered by", describe_actor(record.get("registered_by"))),
        ("pipeline run", str(record.get("pipeline_run") or "")),
        ("feature service", str(record.get("feature_service"))),
        ("time range", " .. ".join(map(str, record.get("time_range") or []))),
        ("rows asked / got", f"{record.get('rows_asked')} / {record.get('rows_got')}"),
        ("data sha256", str(record.get("data_hash"))),
        ("git commit", str(record.get("git_commit"))),
        ("artifact", str(record.get("artifact_uri"))),
        ("artifact sha256", str(record.get("sha256"))),
    ]
    out += [(f"param {k}", _short(v)) for k, v in sorted((record.get("parameters") or {}).items())]
    out += [
        (f"metric {k}", f"{v:.4f}" if isinstance(v, float) else str(v))
        for k, v in sorted((record.get("metrics") or {}).items())
    ]
    gate = record.get("gate") or {}
    out.append(("gate", str(gate.get("decision")) + "".join(f"; {r}" for r in gate.get("reasons", []))))
    if gate.get("fairness_exception"):
        e = gate["fairness_exception"]
        out.append(
            (
                "fairness exception",
                (
                    f"{e.get('id')}: waived {', '.join(e.get('waived', []))}; approved by "
                    f"{e.get('approved_by')}, requested by {e.get('requested_by')}, expires "
                    f"{e.get('expires')}; {e.get('reason')}"
                ),
            )
        )
    for e in record.get("registry_actions", []):
        what = ", ".join(f"{k}={e[k]}" for k in ("version", "restored", "replaced", "reason") if e.get(k))
        out.append((f"registry {e.get('action')} {e.get('at', '')}", f"by {describe_actor(e.get('actor'))}: {what}"))
    for d in record.get("deployments", []):
        detail = ", ".join(f"{k}={v}" for k, v in d.items() if k not in ("at", "outcome") and v not in (None, [], ""))
        out.append((f"deployment {d.get('at', '')}", f"{d.get('outcome')}: {detail}"))
    return out


def describe_actor(actor: dict | None) -> str:
    """``subject (authenticated by oidc)``, ``subject (NOT authenticated: os-user)``, or ``unknown`` for records
    written before actors were recorded."""
    if not actor:
        return "unknown (not recorded)"
    how = "authenticated by" if actor.get("authenticated") else "NOT authenticated:"
    return f"{actor.get('subject')} ({how} {actor.get('source')})"


def render(record: dict, console) -> None:
    """Print the record as a rich table."""
    from rich.table import Table

    table = Table(title=f"lineage of {record.get('model')} {record.get('version')}", show_header=True)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for name, value in rows(record):
        table.add_row(name, value)
    console.print(table)


def _short(value, limit: int = 120) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."

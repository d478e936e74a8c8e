"""The gate's canary Pod: proof that Checkov scanned the Kubernetes manifests, even when no check applies to them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from policies.checkov.files import framework_of, serialise
from policies.checkov.model import CheckovError

if TYPE_CHECKING:
    from policies.translate.model import Origin, TranslatedStack

CANARY_DIR = "gate~canary"
"""A folder no stack folder can be named (``stack_dirs`` never makes a ``~`` without a number after it)."""
_CANARY_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "gate-canary", "namespace": "gate-canary"},
    "spec": {"containers": [{"name": "c", "image": "canary", "securityContext": {"privileged": True}}]},
}


def write_canary(
    stacks: list[TranslatedStack], sent: dict[tuple[str, str], tuple[str, str, Origin]], root: Path
) -> None:
    """Checkov leaves a framework with no check result out of its JSON report, so a scan of manifests no check applies
    to (a Namespace, a NetworkPolicy) cannot be told from manifests never scanned. A privileged Pod beside them always
    gets results: its report must come back, and its resource count then covers every manifest sent."""
    if not any(framework_of(path.split("/", 2)[2]) == "kubernetes" for path, _ in sent):
        return
    from policies.translate import CONTEXT_FILE

    folder = root / CANARY_DIR
    (folder / "k8s").mkdir(parents=True, exist_ok=True)
    (folder / "k8s" / "canary.yaml").write_text(serialise("canary.yaml", _CANARY_POD))
    context = next((s.files[CONTEXT_FILE] for s in stacks if CONTEXT_FILE in s.files), None)
    if context is not None:  # custom checks read the stack context from the scanned file's folder or its parents
        (folder / CONTEXT_FILE).write_text(serialise(CONTEXT_FILE, context))


def _is_canary(file_path: str) -> bool:
    return file_path.startswith(f"/{CANARY_DIR}/")


def check_canary(reports: list[dict[str, Any]], sent: dict[tuple[str, str], tuple[str, str, Origin]]) -> None:
    """The canary Pod must have results whenever manifests were sent; its results are then left out of the trace."""
    if not any(framework_of(path.split("/", 2)[2]) == "kubernetes" for path, _ in sent):
        return
    k8s = [r for r in reports if r.get("check_type") == "kubernetes"]
    found = any(
        _is_canary(record.get("file_path", ""))
        for report in k8s
        for bucket in ("passed_checks", "failed_checks")
        for record in report.get("results", {}).get(bucket, [])
    )
    if not found:
        raise CheckovError(
            "Checkov returned no result for the gate's canary Pod beside the Kubernetes manifests: "
            "the manifests were not scanned"
        )
    for report in k8s:  # the canary is no Pulumi resource: drop it, and its count, before tracing
        results = report.get("results", {})
        for bucket in ("passed_checks", "failed_checks", "skipped_checks"):
            results[bucket] = [r for r in results.get(bucket, []) if not _is_canary(r.get("file_path", ""))]
        summary = report.setdefault("summary", {})
        summary["resource_count"] = int(summary.get("resource_count", 0)) - 1

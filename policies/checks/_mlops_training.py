"""Shared reading of the training layer for the checks that ask whether a team namespace has what it needs
(quotas, the training queue, the torch runtime); defines (registers) no check.

These checks run on each Namespace the stack plans. Which namespaces are team namespaces, and which objects exist
stack-wide, come from the stack's context (``team_namespaces``, ``kubernetes_inventory``): Checkov shows a check one
object at a time. A namespace that is not a team namespace PASSES (the rule asks nothing of it; a result on every
Namespace keeps the gate's completeness rule, which wants one for every object of a checked kind); an unreadable
context, or one without an inventory, FAILS.
"""

from __future__ import annotations

from typing import Any

from _mlops_context import PolicyContext, context_for
from _mlops_values import get_path
from checkov.common.bridgecrew.severities import Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

GPU_RESOURCE = "nvidia.com/gpu"


class TeamNamespaceCheck(BaseK8Check):
    """A check of what a team namespace needs, judged on the stack's inventory by :meth:`team_passes`."""

    def __init__(self, *, name: str, id: str, guideline: str, severity: str) -> None:
        super().__init__(
            name=name,
            id=id,
            categories=[CheckCategories.KUBERNETES],
            supported_entities=("Namespace",),
            guideline=guideline,
        )
        self.severity = Severities[severity]

    def team_passes(self, context: PolicyContext, namespace: str) -> bool:
        raise NotImplementedError

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["metadata/name"]
        context = context_for(self.entity_path, conf)
        if context is None:
            return CheckResult.FAILED
        name = get_path(conf, "metadata", "name")
        if name not in context.team_namespaces:
            return CheckResult.PASSED
        if context.inventory is None:
            return CheckResult.FAILED
        return CheckResult.PASSED if self.team_passes(context, name) else CheckResult.FAILED


def quantity_set(value: Any) -> bool:
    """A quota or limit value that bounds something: a non-empty string or a number (0 is a bound too)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, (int, float)) or (isinstance(value, str) and bool(value.strip()))


def covers(cluster_queue: dict[str, Any], resource: str) -> bool:
    """Whether a ClusterQueue spec has a resource group covering ``resource`` with a quota in every flavor."""
    for group in get_path(cluster_queue, "spec", "resourceGroups") or []:
        if not isinstance(group, dict) or resource not in (group.get("coveredResources") or []):
            continue
        flavors = group.get("flavors") or []
        quotas = [
            [r for r in (f.get("resources") or []) if isinstance(r, dict) and r.get("name") == resource]
            for f in flavors
            if isinstance(f, dict)
        ]
        if flavors and all(q and quantity_set(q[0].get("nominalQuota")) for q in quotas):
            return True
    return False

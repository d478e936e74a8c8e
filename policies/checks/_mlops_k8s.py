"""Shared reading of Kubernetes workloads: the pod spec and every container of it, and the base of the checks that
hold every container to a rule; defines (registers) no check."""

from __future__ import annotations

from typing import Any

from _mlops_values import dict_list, get_path
from checkov.common.bridgecrew.severities import Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")
CONTAINER_FIELDS = ("containers", "initContainers")


def pod_spec(conf: Any) -> dict[str, Any] | None:
    """The pod spec of a workload (``spec`` of a Pod, the template's for the others, the job template's for a
    CronJob); ``None`` when the manifest does not have one where its kind puts it."""
    kind = get_path(conf, "kind")
    if kind == "Pod":
        spec = get_path(conf, "spec")
    elif kind == "CronJob":
        spec = get_path(conf, "spec", "jobTemplate", "spec", "template", "spec")
    else:
        spec = get_path(conf, "spec", "template", "spec")
    return spec if isinstance(spec, dict) else None


def containers(spec: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Every container and init container; ``None`` when a list holds something other than objects or none exist."""
    found: list[dict[str, Any]] = []
    for field in CONTAINER_FIELDS:
        value = spec.get(field)
        if value is None:
            continue
        items = dict_list(value)
        if not isinstance(value, list) or len(items) != len(value):
            return None
        found.extend(items)
    return found or None


class ContainerCheck(BaseK8Check):
    """A check that every container and init container of a workload meets :meth:`container_passes`; a manifest
    without a pod spec or containers FAILS. Subclasses register themselves by being instantiated in their file."""

    def __init__(self, *, name: str, id: str, guideline: str, severity: str) -> None:
        super().__init__(
            name=name,
            id=id,
            categories=[CheckCategories.KUBERNETES],
            supported_entities=WORKLOAD_KINDS,
            guideline=guideline,
        )
        self.severity = Severities[severity]

    def container_passes(self, container: dict[str, Any], pod: dict[str, Any]) -> bool:
        """Whether ``container`` meets the rule; ``pod`` is its pod spec (for pod-level defaults)."""
        raise NotImplementedError

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["spec"]
        spec = pod_spec(conf)
        items = containers(spec) if spec is not None else None
        if spec is None or items is None:
            return CheckResult.FAILED
        if all(self.container_passes(c, spec) for c in items):
            return CheckResult.PASSED
        return CheckResult.FAILED

"""Shared reading of Kubernetes workloads: the pod spec and every container of it; defines no check."""

from __future__ import annotations

from typing import Any

from _mlops_values import dict_list, get_path

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

"""CKV_MLOPS_201: every container and init container of a workload runs as non-root.

Effective ``runAsNonRoot`` must be true: set on the container, or on the pod and not overridden with false by the
container. An effective ``runAsUser: 0`` FAILS too (the kubelet would refuse to start it). A manifest without a
pod spec or containers FAILS.
"""

from __future__ import annotations

from typing import Any

from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

from _mlops_k8s import WORKLOAD_KINDS, containers, pod_spec
from _mlops_values import get_path, is_true


def effective(container: dict[str, Any], pod: dict[str, Any], field: str) -> Any:
    own = get_path(container, "securityContext", field)
    return own if own is not None else get_path(pod, "securityContext", field)


class K8sRunAsNonRoot(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure every container and init container runs as non-root (runAsNonRoot: true)",
            id="CKV_MLOPS_201",
            categories=[CheckCategories.KUBERNETES],
            supported_entities=WORKLOAD_KINDS,
            guideline="Set securityContext.runAsNonRoot: true (and a non-zero runAsUser) on the pod or on each "
                      "container; build images with a non-root USER. See docs/policies.md#ckv_mlops_201",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["spec"]
        spec = pod_spec(conf)
        items = containers(spec) if spec is not None else None
        if spec is None or items is None:
            return CheckResult.FAILED
        for container in items:
            if not is_true(effective(container, spec, "runAsNonRoot")) or effective(container, spec, "runAsUser") == 0:
                return CheckResult.FAILED
        return CheckResult.PASSED


check = K8sRunAsNonRoot()

"""CKV_MLOPS_202: every container and init container has a read-only root file system.

``securityContext.readOnlyRootFilesystem: true`` on each container (it is not a pod-level field); scratch space
belongs in an ``emptyDir`` volume. A manifest without a pod spec or containers FAILS.
"""

from __future__ import annotations

from typing import Any

from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

from _mlops_k8s import WORKLOAD_KINDS, containers, pod_spec
from _mlops_values import get_path, is_true


class K8sReadOnlyRootFilesystem(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure every container and init container has a read-only root file system",
            id="CKV_MLOPS_202",
            categories=[CheckCategories.KUBERNETES],
            supported_entities=WORKLOAD_KINDS,
            guideline="Set securityContext.readOnlyRootFilesystem: true on every container and mount an emptyDir "
                      "where the process must write (/tmp, caches). See docs/policies.md#ckv_mlops_202",
        )
        self.severity = Severities[BcSeverities.MEDIUM]

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["spec"]
        spec = pod_spec(conf)
        items = containers(spec) if spec is not None else None
        if spec is None or items is None:
            return CheckResult.FAILED
        if all(is_true(get_path(c, "securityContext", "readOnlyRootFilesystem")) for c in items):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = K8sReadOnlyRootFilesystem()

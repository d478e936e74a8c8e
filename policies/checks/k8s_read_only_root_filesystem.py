"""CKV_MLOPS_202: every container and init container has a read-only root file system.

``securityContext.readOnlyRootFilesystem: true`` on each container (it is not a pod-level field); scratch space
belongs in an ``emptyDir`` volume. A manifest without a pod spec or containers FAILS.
"""

from __future__ import annotations

from typing import Any

from _mlops_k8s import ContainerCheck
from _mlops_values import get_path, is_true
from checkov.common.bridgecrew.severities import BcSeverities


class K8sReadOnlyRootFilesystem(ContainerCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure every container and init container has a read-only root file system",
            id="CKV_MLOPS_202",
            guideline="Set securityContext.readOnlyRootFilesystem: true on every container and mount an emptyDir "
            "where the process must write (/tmp, caches). See docs/policies.md#ckv_mlops_202",
            severity=BcSeverities.MEDIUM,
        )

    def container_passes(self, container: dict[str, Any], pod: dict[str, Any]) -> bool:
        return is_true(get_path(container, "securityContext", "readOnlyRootFilesystem"))


check = K8sReadOnlyRootFilesystem()

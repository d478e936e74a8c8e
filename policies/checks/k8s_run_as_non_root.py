"""CKV_MLOPS_201: every container and init container of a workload runs as non-root.

Effective ``runAsNonRoot`` must be true: set on the container, or on the pod and not overridden with false by the
container. An effective ``runAsUser: 0`` FAILS too (the kubelet would refuse to start it). A manifest without a
pod spec or containers FAILS.
"""

from __future__ import annotations

from typing import Any

from _mlops_k8s import ContainerCheck
from _mlops_values import get_path, is_true
from checkov.common.bridgecrew.severities import BcSeverities


def effective(container: dict[str, Any], pod: dict[str, Any], field: str) -> Any:
    own = get_path(container, "securityContext", field)
    return own if own is not None else get_path(pod, "securityContext", field)


class K8sRunAsNonRoot(ContainerCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure every container and init container runs as non-root (runAsNonRoot: true)",
            id="CKV_MLOPS_201",
            guideline="Set securityContext.runAsNonRoot: true (and a non-zero runAsUser) on the pod or on each "
            "container; build images with a non-root USER. See docs/policies.md#ckv_mlops_201",
            severity=BcSeverities.HIGH,
        )

    def container_passes(self, container: dict[str, Any], pod: dict[str, Any]) -> bool:
        return is_true(effective(container, pod, "runAsNonRoot")) and effective(container, pod, "runAsUser") != 0


check = K8sRunAsNonRoot()

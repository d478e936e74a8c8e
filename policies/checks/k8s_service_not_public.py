"""CKV_MLOPS_204: no Service is reachable from outside the private network.

``type: LoadBalancer`` needs the cloud's internal load-balancer annotation (AWS
``service.beta.kubernetes.io/aws-load-balancer-scheme: internal`` or ``aws-load-balancer-internal: "true"``, Azure
``service.beta.kubernetes.io/azure-load-balancer-internal: "true"``); ``type: NodePort`` and ``externalIPs`` open a
port on every node or a routed address and FAIL. ClusterIP and headless Services PASS. Checkov has no check on
Service exposure. This is how the KFP API (``api_exposure``), the feature server and model endpoints stay private.
"""

from __future__ import annotations

from typing import Any

from _mlops_values import as_text, clean_map, get_path
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

INTERNAL_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
}


class K8sServiceNotPublic(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure Services are not exposed outside the private network (internal load balancers only)",
            id="CKV_MLOPS_204",
            categories=[CheckCategories.NETWORKING],
            supported_entities=["Service"],
            guideline="Keep the Service ClusterIP and reach it in-cluster or by port-forward; where a load balancer "
            "is needed, annotate it internal (VPC/VNet only). No NodePort, no externalIPs. "
            "See docs/policies.md#ckv_mlops_204",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["spec/type", "spec/externalIPs", "metadata/annotations"]
        spec = get_path(conf, "spec")
        if spec is not None and not isinstance(spec, dict):
            return CheckResult.FAILED
        spec = spec or {}
        if spec.get("externalIPs"):
            return CheckResult.FAILED
        kind = as_text(spec.get("type") or "ClusterIP")
        if kind in ("ClusterIP", "ExternalName"):
            return CheckResult.PASSED
        if kind != "LoadBalancer":
            return CheckResult.FAILED
        annotations = clean_map(get_path(conf, "metadata", "annotations"))
        internal = any(as_text(annotations.get(k)).lower() == v for k, v in INTERNAL_ANNOTATIONS.items())
        return CheckResult.PASSED if internal else CheckResult.FAILED


check = K8sServiceNotPublic()

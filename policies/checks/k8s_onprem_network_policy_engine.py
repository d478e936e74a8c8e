"""CKV_MLOPS_305: an on-prem stack installs its NetworkPolicy engine: the pinned Calico ``tigera-operator`` chart and
an ``Installation`` (operator.tigera.io/v1) with the Calico CNI.

The node bootstrap installs no CNI, so on-prem nothing else enforces the platform's policies. Reported on every
Namespace of an on-prem stack (judged on the context's ``kubernetes_inventory``; without one it FAILS); on the
clouds the check abstains (CKV_MLOPS_301 and CKV_MLOPS_302 judge the EKS and AKS engines).
"""

from __future__ import annotations

from typing import Any

from _mlops_context import PolicyContext, context_for
from _mlops_values import get_path
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

CHART = "tigera-operator"


class K8sOnpremNetworkPolicyEngine(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure an on-prem stack installs Calico (tigera-operator chart and a Calico Installation)",
            id="CKV_MLOPS_305",
            categories=[CheckCategories.NETWORKING],
            supported_entities=("Namespace",),
            guideline="Keep components/onprem/calico.py CalicoNetwork in the on-prem target: the pinned "
            "tigera-operator chart and its Installation with cni.type Calico. See "
            "docs/policies.md#ckv_mlops_305",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["metadata/name"]
        context: PolicyContext | None = context_for(self.entity_path, conf)
        if context is None:
            return CheckResult.FAILED
        if context.target != "onprem":
            return CheckResult.UNKNOWN
        if context.inventory is None or CHART not in context.inventory.get("charts", []):
            return CheckResult.FAILED
        installed = any(get_path(i, "spec", "cni", "type") == "Calico" for i in context.objects("Installation"))
        return CheckResult.PASSED if installed else CheckResult.FAILED


check = K8sOnpremNetworkPolicyEngine()

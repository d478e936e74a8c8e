"""CKV_MLOPS_303: every namespace the stack plans has a default-deny NetworkPolicy: ingress always, egress too in
platform and team namespaces (``mlops.platform/tier`` ``platform``/``team``, or no tier label).

A default deny is a policy selecting every pod (empty ``podSelector``) that lists the policy type with no rules of
it. ``system`` namespaces (drivers, controllers that call the API server from the host network) need the ingress
deny only. The namespace's policies come from the context's ``kubernetes_inventory``; a context without one FAILS.
"""

from __future__ import annotations

from typing import Any

from _mlops_context import PolicyContext, context_for
from _mlops_values import get_path
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

TIER_LABEL = "mlops.platform/tier"


def denies(policy: dict[str, Any], policy_type: str) -> bool:
    spec = policy.get("spec") if isinstance(policy.get("spec"), dict) else {}
    selector = spec.get("podSelector")
    selects_all = (
        isinstance(selector, dict) and not selector.get("matchLabels") and not selector.get("matchExpressions")
    )
    types = spec.get("policyTypes") or []
    return selects_all and policy_type in types and not spec.get(policy_type.lower())


class K8sNamespaceDefaultDeny(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure every namespace has a default-deny NetworkPolicy (ingress; egress in platform and team "
            "namespaces)",
            id="CKV_MLOPS_303",
            categories=[CheckCategories.NETWORKING],
            supported_entities=("Namespace",),
            guideline="Create the namespace through components/kubernetes/namespace.py SecureNamespace (deny_ingress "
            "and deny_egress on). See docs/policies.md#ckv_mlops_303",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["metadata/name", f"metadata/labels/{TIER_LABEL}"]
        context: PolicyContext | None = context_for(self.entity_path, conf)
        name = get_path(conf, "metadata", "name")
        if context is None or context.inventory is None or not isinstance(name, str):
            return CheckResult.FAILED
        policies = context.objects("NetworkPolicy", name)
        tier = get_path(conf, "metadata", "labels", TIER_LABEL)
        needed = ("Ingress",) if tier == "system" else ("Ingress", "Egress")
        if all(any(denies(p, t) for p in policies) for t in needed):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = K8sNamespaceDefaultDeny()

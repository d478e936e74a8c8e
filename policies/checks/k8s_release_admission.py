"""CKV_MLOPS_341: a cluster that serves models admits InferenceServices only through the release admission policy.

Judged on each KServe ServingRuntime the stack plans: the stack's inventory must hold a ValidatingAdmissionPolicy
matching CREATE and UPDATE of ``serving.kserve.io`` ``inferenceservices`` with ``failurePolicy: Fail`` and a
``paramKind`` (the approvals), and a ValidatingAdmissionPolicyBinding of it with ``validationActions`` including
``Deny`` and a ``paramRef`` whose ``parameterNotFoundAction`` is ``Deny``. Without them ``ml-engineer``s or the
training identity could point a model server at any bytes, or an audit-only binding would let them through
(components/security/admission.py). An unreadable context, or one without an inventory, FAILS.
"""

from __future__ import annotations

from typing import Any

from _mlops_context import context_for
from _mlops_values import get_path
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


def guards_inference_services(policy: dict[str, Any]) -> bool:
    spec = policy.get("spec") or {}
    if spec.get("failurePolicy") != "Fail" or not isinstance(spec.get("paramKind"), dict):
        return False
    for rule in get_path(spec, "matchConstraints", "resourceRules") or []:
        if (
            isinstance(rule, dict)
            and set(rule.get("apiGroups") or []) & {"serving.kserve.io", "*"}
            and set(rule.get("resources") or []) & {"inferenceservices", "*"}
            and ({"CREATE", "UPDATE"} <= set(rule.get("operations") or []) or "*" in (rule.get("operations") or []))
        ):
            return True
    return False


def denies(binding: dict[str, Any], policy_name: str) -> bool:
    spec = binding.get("spec") or {}
    return (
        spec.get("policyName") == policy_name
        and "Deny" in (spec.get("validationActions") or [])
        and get_path(spec, "paramRef", "parameterNotFoundAction") == "Deny"
    )


class K8sReleaseAdmission(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure InferenceServices are admitted only by a failing-closed release admission policy",
            id="CKV_MLOPS_341",
            categories=[CheckCategories.KUBERNETES],
            supported_entities=("ServingRuntime",),
            guideline="Keep components/security/admission.py's ReleaseAdmission (policy + Deny binding). "
            "See docs/security-release-admission.md and docs/policies.md#ckv_mlops_341",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["kind"]
        context = context_for(self.entity_path, conf)
        if context is None or context.inventory is None:
            return CheckResult.FAILED
        policies = [p.get("name") for p in context.objects("ValidatingAdmissionPolicy") if guards_inference_services(p)]
        bindings = context.objects("ValidatingAdmissionPolicyBinding")
        if any(denies(b, name) for name in policies for b in bindings):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = K8sReleaseAdmission()

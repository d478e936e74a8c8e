"""CKV_MLOPS_342: only the deploy identity may write InferenceServices; people and the training identity read them.

Judged on each Role and ClusterRole the stack plans: one whose rules grant ``create``, ``update``, ``patch``,
``delete`` (or ``*``) on ``inferenceservices`` (or ``*``) in ``serving.kserve.io`` (or ``*``) must be bound, by every
RoleBinding/ClusterRoleBinding in the stack's inventory that references it, to the deploy identity alone (the
context's ``deploy_identity`` ServiceAccount, ``pipeline-deployer`` in KFP's namespace). A role bound to a group, a
user or another ServiceAccount (``pipeline-runner``, which trains) FAILS, so does an unreadable context or one without
an inventory. A role that grants no such verb PASSES.
"""

from __future__ import annotations

from typing import Any

from _mlops_context import DEFAULT_DEPLOY_IDENTITY, context_for
from _mlops_values import get_path
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "*"}


def writes_inference_services(rules: Any) -> bool:
    for rule in rules if isinstance(rules, list) else []:
        if not isinstance(rule, dict):
            continue
        if (
            set(rule.get("apiGroups") or []) & {"serving.kserve.io", "*"}
            and set(rule.get("resources") or []) & {"inferenceservices", "*"}
            and set(rule.get("verbs") or []) & WRITE_VERBS
        ):
            return True
    return False


class K8sInferenceServiceWriters(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure only the deploy identity may write InferenceServices (not people, not the training identity)",
            id="CKV_MLOPS_342",
            categories=[CheckCategories.KUBERNETES],
            supported_entities=("Role", "ClusterRole"),
            guideline="Bind roles that write inferenceservices to the pipeline-deployer ServiceAccount only. "
            "See docs/security-release-admission.md and docs/policies.md#ckv_mlops_342",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["rules"]
        if not writes_inference_services(conf.get("rules")):
            return CheckResult.PASSED
        context = context_for(self.entity_path, conf)
        if context is None or context.inventory is None:
            return CheckResult.FAILED
        kind, name = conf.get("kind"), get_path(conf, "metadata", "name")
        namespace = get_path(conf, "metadata", "namespace")
        deployer = context.deploy_identity or DEFAULT_DEPLOY_IDENTITY
        allowed = {"kind": "ServiceAccount", "name": deployer["name"], "namespace": deployer["namespace"]}
        kinds = ("RoleBinding",) if kind == "Role" else ("RoleBinding", "ClusterRoleBinding")
        for binding_kind in kinds:
            for binding in context.objects(binding_kind):
                ref = binding.get("roleRef") or {}
                if ref.get("kind") != kind or ref.get("name") != name:
                    continue
                if kind == "Role" and binding.get("namespace") != namespace:
                    continue
                subjects = binding.get("subjects") or []
                if not subjects or any(
                    not isinstance(s, dict) or {k: s.get(k) for k in allowed} != allowed for s in subjects
                ):
                    return CheckResult.FAILED
        return CheckResult.PASSED


check = K8sInferenceServiceWriters()

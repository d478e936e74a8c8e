"""CKV_MLOPS_323: KFP, the Feast feature server and the model endpoints accept only the enterprise IdP's tokens or
named in-mesh callers.

Runs on each Namespace holding a protected service (``kubeflow``: ``ml-pipeline``, ``ml-pipeline-ui``;
``feature-store``: ``feast-feature-server``; ``ml-serving``: every Service, through its waypoint). The stack's
inventory must hold, in that namespace and targeting each of them (``targetRefs``): a RequestAuthentication with an
https issuer and at least one audience, and an ALLOW AuthorizationPolicy whose every rule admits only
``requestPrincipals`` (a valid token) or ``principals`` naming ServiceAccounts (no wildcard); and no
AuthorizationPolicy of the namespace may have a rule without sources (allow-all). Other namespaces PASS.
"""

from __future__ import annotations

from typing import Any

from _mlops_context import context_for
from _mlops_mesh import PROTECTED_SERVICES, rule_is_authenticated, targets, wanted_targets
from _mlops_values import get_path
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


def _jwt_ok(spec: Any) -> bool:
    rules = get_path(spec, "jwtRules") or []
    return bool(rules) and all(
        isinstance(r, dict) and str(r.get("issuer", "")).startswith("https://") and r.get("audiences") for r in rules
    )


def _authz_ok(spec: Any) -> bool:
    rules = get_path(spec, "rules") or []
    return get_path(spec, "action") in (None, "ALLOW") and bool(rules) and all(rule_is_authenticated(r) for r in rules)


class K8sIdpAuthentication(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure KFP, the feature server and model endpoints require an IdP token or a named in-mesh caller",
            id="CKV_MLOPS_323",
            categories=[CheckCategories.KUBERNETES],
            supported_entities=("Namespace",),
            guideline="Keep components/security/mesh.py's RequestAuthentication and AuthorizationPolicy per protected "
            "service. See docs/policies.md#ckv_mlops_323 and docs/security-mtls-and-authn.md",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["metadata/name"]
        name = get_path(conf, "metadata", "name")
        if name not in PROTECTED_SERVICES:
            return CheckResult.PASSED
        context = context_for(self.entity_path, conf)
        if context is None or context.inventory is None:
            return CheckResult.FAILED
        policies = context.objects("AuthorizationPolicy", name)
        if any(
            get_path(p, "spec", "action") in (None, "ALLOW")
            and any(not get_path(r, "from") for r in (get_path(p, "spec", "rules") or []))
            for p in policies
        ):
            return CheckResult.FAILED  # an allow-all policy in the namespace opens everything the others close
        jwt_covered: set[tuple[str, str]] = set()
        for request in context.objects("RequestAuthentication", name):
            if _jwt_ok(request.get("spec")):
                jwt_covered |= targets(request.get("spec"))
        authz_covered: set[tuple[str, str]] = set()
        for policy in policies:
            if _authz_ok(policy.get("spec")):
                authz_covered |= targets(policy.get("spec"))
        wanted = wanted_targets(name)
        return CheckResult.PASSED if wanted <= jwt_covered and wanted <= authz_covered else CheckResult.FAILED


check = K8sIdpAuthentication()

"""CKV_MLOPS_365: an on-prem stack's node bootstrap configures every control-plane node's kube-apiserver with the
enterprise IdP (an ``AuthenticationConfiguration`` with a JWT authenticator) and an audit policy with a rotated
audit log.

On the clouds the provider runs the API server (EKS, AKS authenticate with the IdP through IAM/Entra ID and keep the
audit log); on-prem the bootstrap (components/bootstrap, pulumi-command) does. Its command lines are in the context's
``detection_inventory.node_bootstrap``. FAILS when no bootstrapped node is a control-plane node, or one of them lacks:

- an ``AuthenticationConfiguration`` whose every ``jwt`` entry has an ``https://`` issuer, audiences and a
  username claim mapping;
- an ``audit.k8s.io`` ``Policy`` with rules, where the first rule matching every request for ``secrets`` records at
  most ``Metadata`` (no Secret body in the log) and that rule comes before any ``Request``/``RequestResponse`` rule;
- the flags ``--authentication-config``, ``--audit-policy-file``, ``--audit-log-path`` and the rotation flags
  ``--audit-log-maxage``, ``--audit-log-maxbackup``, ``--audit-log-maxsize``.

Reported on every Namespace of an on-prem stack; the clouds abstain. What it cannot see: whether the API server
really runs with them (the bootstrap waits for ``/readyz`` and rolls back otherwise, at ``pulumi up``).
"""

from __future__ import annotations

from typing import Any

from _mlops_context import PolicyContext, context_for
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

REQUIRED_FLAGS = (
    "--authentication-config=",
    "--audit-policy-file=",
    "--audit-log-path=",
    "--audit-log-maxage=",
    "--audit-log-maxbackup=",
    "--audit-log-maxsize=",
)
BODY_LEVELS = ("Request", "RequestResponse")
NARROWING = ("users", "userGroups", "verbs", "namespaces", "nonResourceURLs")


def authenticates_with_idp(doc: Any) -> bool:
    if not (
        isinstance(doc, dict)
        and doc.get("kind") == "AuthenticationConfiguration"
        and str(doc.get("apiVersion", "")).startswith("apiserver.config.k8s.io/")
    ):
        return False
    jwts = doc.get("jwt")
    if not (isinstance(jwts, list) and jwts):
        return False
    for jwt in jwts:
        issuer = jwt.get("issuer") if isinstance(jwt, dict) else None
        mappings = jwt.get("claimMappings") if isinstance(jwt, dict) else None
        if not (
            isinstance(issuer, dict)
            and str(issuer.get("url", "")).startswith("https://")
            and isinstance(issuer.get("audiences"), list)
            and issuer["audiences"]
            and isinstance(mappings, dict)
            and isinstance(mappings.get("username"), dict)
            and (mappings["username"].get("claim") or mappings["username"].get("expression"))
        ):
            return False
    return True


def _covers_all_secrets(rule: dict[str, Any]) -> bool:
    """The rule matches every request on core ``secrets`` (no narrowing by user, verb or namespace)."""
    if any(rule.get(key) for key in NARROWING):
        return False
    resources = rule.get("resources")
    if not resources:
        return True
    return any(
        isinstance(r, dict)
        and r.get("group", "") == ""
        and (not r.get("resources") or "secrets" in r["resources"] or "*" in r["resources"])
        for r in resources
    )


def _may_match_secrets(rule: dict[str, Any]) -> bool:
    if rule.get("nonResourceURLs"):
        return False
    resources = rule.get("resources")
    if not resources:
        return True
    return any(
        isinstance(r, dict)
        and r.get("group", "") in ("", "*")
        and (not r.get("resources") or "secrets" in r["resources"] or "*" in r["resources"])
        for r in resources
    )


def audits_safely(doc: Any) -> bool:
    if not (
        isinstance(doc, dict)
        and doc.get("kind") == "Policy"
        and str(doc.get("apiVersion", "")).startswith("audit.k8s.io/")
    ):
        return False
    rules = doc.get("rules")
    if not (isinstance(rules, list) and rules and all(isinstance(r, dict) for r in rules)):
        return False
    for rule in rules:
        if _covers_all_secrets(rule):
            return rule.get("level") in ("None", "Metadata")
        if rule.get("level") in BODY_LEVELS and _may_match_secrets(rule):
            return False
    return False


def configured(node: dict[str, Any]) -> bool:
    flags = node.get("flags", [])
    return (
        authenticates_with_idp(node.get("authentication_config"))
        and audits_safely(node.get("audit_policy"))
        and all(any(f.startswith(prefix) and len(f) > len(prefix) for f in flags) for prefix in REQUIRED_FLAGS)
    )


class K8sOnpremApiServerOidcAudit(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure the on-prem bootstrap gives the kube-apiserver IdP authentication and an audit policy",
            id="CKV_MLOPS_365",
            categories=[CheckCategories.LOGGING],
            supported_entities=("Namespace",),
            guideline="Mark the control-plane servers controlPlane: true under mlops:nodePools and keep "
            "components/bootstrap (render.py apiserver_plan, the script's apiserver step). See "
            "docs/policies.md#ckv_mlops_365",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["metadata/name"]
        context: PolicyContext | None = context_for(self.entity_path, conf)
        if context is None:
            return CheckResult.FAILED
        if context.target != "onprem":
            return CheckResult.UNKNOWN
        if context.detection is None:
            return CheckResult.FAILED
        control_plane = [n for n in context.detection.get("node_bootstrap", []) if n.get("control_plane") is True]
        ok = bool(control_plane) and all(configured(n) for n in control_plane)
        return CheckResult.PASSED if ok else CheckResult.FAILED


check = K8sOnpremApiServerOidcAudit()

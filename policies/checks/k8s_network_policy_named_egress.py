"""CKV_MLOPS_304: no NetworkPolicy lets pods send to any address: every egress rule names where it goes.

FAILS on an egress rule without peers (``to`` absent or empty: every destination) and on an ``ipBlock`` whose CIDR
is a default route (``0.0.0.0/0``, ``::/0``, any ``/0``). Named endpoints (the API server, the VPC/VNet holding the
private endpoints, a proxy, namespaces and pods) pass.
"""

from __future__ import annotations

from typing import Any

from _mlops_values import get_path
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


def is_default_route(cidr: Any) -> bool:
    return not isinstance(cidr, str) or cidr.strip().rsplit("/", 1)[-1] == "0" or "/" not in cidr


def rule_is_named(rule: Any) -> bool:
    peers = rule.get("to") if isinstance(rule, dict) else None
    if not isinstance(peers, list) or not peers:
        return False
    for peer in peers:
        if not isinstance(peer, dict) or not peer:
            return False
        if "ipBlock" in peer and is_default_route(get_path(peer, "ipBlock", "cidr")):
            return False
    return True


class K8sNetworkPolicyNamedEgress(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure NetworkPolicy egress names its destinations (no rule to any address, no 0.0.0.0/0 or ::/0)",
            id="CKV_MLOPS_304",
            categories=[CheckCategories.NETWORKING],
            supported_entities=("NetworkPolicy",),
            guideline="Send egress to named endpoints from components/kubernetes/egress.py (API server, VPC/VNet "
            "private endpoints, mlops:egress.proxy). See docs/policies.md#ckv_mlops_304",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["spec/egress"]
        rules = get_path(conf, "spec", "egress")
        if rules is None:
            return CheckResult.PASSED
        if not isinstance(rules, list):
            return CheckResult.FAILED
        return CheckResult.PASSED if all(rule_is_named(r) for r in rules) else CheckResult.FAILED


check = K8sNetworkPolicyNamedEgress()

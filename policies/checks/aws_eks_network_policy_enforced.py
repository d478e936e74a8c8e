"""CKV_MLOPS_301: an EKS cluster enforces Kubernetes NetworkPolicy: the stack plans the ``vpc-cni`` managed add-on
with ``enableNetworkPolicy`` on.

EKS enforces no NetworkPolicy by default: the platform's default-deny and egress policies are inert until the
VPC CNI's network policy agent runs. The add-on is a resource apart from the cluster, so the check reads the
add-ons the stack plans from the context (``eks_addons``); a context without them FAILS. ``configuration_values``
must be JSON whose ``enableNetworkPolicy`` is ``"true"`` (or true).
"""

from __future__ import annotations

import json
from typing import Any

from _mlops_context import PolicyContext, context_for
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

ADDON = "vpc-cni"


def enforces_network_policy(addon: dict[str, str]) -> bool:
    if addon.get("addon_name") != ADDON:
        return False
    try:
        values = json.loads(addon.get("configuration_values") or "{}")
    except ValueError:
        return False
    return isinstance(values, dict) and str(values.get("enableNetworkPolicy")).lower() == "true"


class AwsEksNetworkPolicyEnforced(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure the EKS cluster enforces NetworkPolicy (vpc-cni add-on with enableNetworkPolicy)",
            id="CKV_MLOPS_301",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["aws_eks_cluster"],
            guideline="Keep the vpc-cni aws:eks/addon:Addon of components/aws/eks.py with configurationValues "
            '{"enableNetworkPolicy": "true"}. See docs/policies.md#ckv_mlops_301',
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["name"]
        context: PolicyContext | None = context_for(self.entity_path, conf)
        if context is None or context.eks_addons is None:
            return CheckResult.FAILED
        if any(enforces_network_policy(a) for a in context.eks_addons):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = AwsEksNetworkPolicyEnforced()

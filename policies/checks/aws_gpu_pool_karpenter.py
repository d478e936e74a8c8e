"""CKV_MLOPS_011: on an AWS stack whose GPU pools scale with Karpenter, each GPU node group has a Karpenter
NodePool for its pool that carries the GPU taint and a GPU limit, and Karpenter itself is installed.

Applies when the context says so (``karpenter_required``: an AWS stack of this platform with a GPU pool); other
scans are not reported. GPU node group: labelled ``mlops.platform/accelerator: nvidia`` (components/gpu.py) or on
an NVIDIA AMI. The NodePool (from the context's ``kubernetes_inventory``) must label its nodes with the group's
``mlops.platform/pool``, taint them with the context's GPU taint and set ``limits["nvidia.com/gpu"]``; the
inventory must list the ``karpenter`` chart. The chart's own objects (controller, CRDs) render at deploy time and
are not seen; the IAM role and interruption queue are ordinary AWS resources, checked by the built-in checks.
"""

from __future__ import annotations

from typing import Any

from _mlops_context import PolicyContext, context_for
from _mlops_values import as_text, clean_map, get_path, tf_value
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

POOL_LABEL = "mlops.platform/pool"
GPU_RESOURCE = "nvidia.com/gpu"


def gpu_pool(conf: dict[str, Any]) -> str | None:
    """The pool name of a GPU node group, or ``None`` for a CPU one."""
    labels = clean_map(conf.get("labels"))
    ami_type = as_text(tf_value(conf, "ami_type")).upper()
    if str(labels.get("mlops.platform/accelerator", "")).lower() != "nvidia" and "NVIDIA" not in ami_type:
        return None
    return as_text(labels.get(POOL_LABEL)) or as_text(tf_value(conf, "node_group_name"))


def node_pool_passes(node_pool: dict[str, Any], pool: str, taint: dict[str, str]) -> bool:
    labels = get_path(node_pool, "spec", "template", "metadata", "labels") or {}
    taints = get_path(node_pool, "spec", "template", "spec", "taints") or []
    limits = get_path(node_pool, "spec", "limits") or {}
    tainted = any(
        isinstance(t, dict)
        and t.get("key") == taint["key"]
        and t.get("value", "") == taint["value"]
        and t.get("effect") == taint["effect"]
        for t in taints
    )
    return (
        isinstance(labels, dict)
        and labels.get(POOL_LABEL) == pool
        and tainted
        and isinstance(limits, dict)
        and limits.get(GPU_RESOURCE) not in (None, "")
    )


class AwsGpuPoolKarpenter(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure each EKS GPU pool scales through a Karpenter NodePool carrying the GPU taint",
            id="CKV_MLOPS_011",
            categories=[CheckCategories.KUBERNETES],
            supported_resources=["aws_eks_node_group"],
            guideline="Keep components/aws/karpenter.py: the pinned karpenter chart and, per GPU pool, a NodePool "
            "labelled with the pool, tainted nvidia.com/gpu=present:NoSchedule, with a nvidia.com/gpu "
            "limit. See docs/policies.md#ckv_mlops_011",
        )
        self.severity = Severities[BcSeverities.MEDIUM]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["labels", "ami_type"]
        pool = gpu_pool(conf)
        if pool is None:
            return CheckResult.UNKNOWN
        context: PolicyContext | None = context_for(self.entity_path, conf)
        if context is None:
            return CheckResult.FAILED
        if not context.karpenter_required:
            return CheckResult.UNKNOWN
        if context.inventory is None or "karpenter" not in context.inventory.get("charts", []):
            return CheckResult.FAILED
        if any(node_pool_passes(n, pool, context.gpu_taint) for n in context.objects("NodePool")):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = AwsGpuPoolKarpenter()

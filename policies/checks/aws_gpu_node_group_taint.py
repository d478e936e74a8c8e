"""CKV_MLOPS_003: an EKS node group of GPU nodes carries the GPU taint, so only GPU workloads land there.

GPU node group: ``ami_type`` names a GPU/NVIDIA AMI, an instance type is a GPU family (g*/p*), or its labels
mark it (``mlops.platform/accelerator: nvidia`` or a ``nvidia.com/gpu`` label). It needs a ``taint`` block with
the stack's GPU taint key, value and effect (Terraform enum: NoSchedule -> NO_SCHEDULE). CPU node groups are
UNKNOWN (not reported).
"""

from __future__ import annotations

import re
from typing import Any

from _mlops_context import context_for
from _mlops_values import as_text, clean_map, tf_blocks, tf_value
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

GPU_INSTANCE = re.compile(r"^(g|p)\d", re.IGNORECASE)
TERRAFORM_EFFECT = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}


def is_gpu_node_group(conf: dict[str, Any]) -> bool:
    ami_type = tf_value(conf, "ami_type")
    if isinstance(ami_type, str) and ("GPU" in ami_type.upper() or "NVIDIA" in ami_type.upper()):
        return True
    instance_types = tf_value(conf, "instance_types")
    if isinstance(instance_types, list) and any(isinstance(t, str) and GPU_INSTANCE.match(t) for t in instance_types):
        return True
    labels = clean_map(conf.get("labels"))
    return str(labels.get("mlops.platform/accelerator", "")).lower() == "nvidia" or "nvidia.com/gpu" in labels


class AwsGpuNodeGroupTaint(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure EKS GPU node groups carry the GPU taint (nvidia.com/gpu=present:NoSchedule)",
            id="CKV_MLOPS_003",
            categories=[CheckCategories.KUBERNETES],
            supported_resources=["aws_eks_node_group"],
            guideline="Declare the pool with kind gpu so components/gpu.py adds the taint, or add a taint block "
            "key=nvidia.com/gpu value=present effect=NO_SCHEDULE to the node group. "
            "See docs/policies.md#ckv_mlops_003",
        )
        self.severity = Severities[BcSeverities.MEDIUM]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["taint", "ami_type", "instance_types", "labels"]
        if not is_gpu_node_group(conf):
            return CheckResult.UNKNOWN
        context = context_for(self.entity_path, conf)
        if context is None:
            return CheckResult.FAILED
        wanted = context.gpu_taint
        for taint in tf_blocks(conf, "taint"):
            if (
                as_text(tf_value(taint, "key")) == wanted["key"]
                and as_text(tf_value(taint, "value")) == wanted["value"]
                and as_text(tf_value(taint, "effect")) == TERRAFORM_EFFECT[wanted["effect"]]
            ):
                return CheckResult.PASSED
        return CheckResult.FAILED


check = AwsGpuNodeGroupTaint()

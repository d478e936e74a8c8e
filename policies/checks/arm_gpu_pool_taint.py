"""CKV_MLOPS_103: AKS GPU pools carry the GPU taint, so only GPU workloads land on them.

GPU pool: ``vmSize`` of an NVIDIA family (``Standard_NC*``, ``Standard_ND*``, ``Standard_NV*``) or
``nodeLabels`` marking it (``mlops.platform/accelerator: nvidia``). Its ``nodeTaints`` must contain the stack's
taint as ``key=value:Effect`` (default ``nvidia.com/gpu=present:NoSchedule``). Checked in inline
``agentPoolProfiles`` and in ``agentPools`` resources; a cluster or pool without GPU pools is UNKNOWN.
"""

from __future__ import annotations

import re
from typing import Any

from _mlops_arm import AGENT_POOL, MANAGED_CLUSTER, agent_pools
from _mlops_context import context_for
from _mlops_values import clean_map
from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult

GPU_VM_SIZE = re.compile(r"^standard_n[cdv]", re.IGNORECASE)


def is_gpu_pool(pool: dict[str, Any]) -> bool:
    vm_size = pool.get("vmSize")
    if isinstance(vm_size, str) and GPU_VM_SIZE.match(vm_size):
        return True
    return str(clean_map(pool.get("nodeLabels")).get("mlops.platform/accelerator", "")).lower() == "nvidia"


class ArmGpuPoolTaint(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure AKS GPU node pools carry the GPU taint (nvidia.com/gpu=present:NoSchedule)",
            id="CKV_MLOPS_103",
            categories=[CheckCategories.KUBERNETES],
            supported_resources=[MANAGED_CLUSTER, AGENT_POOL],
            guideline="Declare the pool with kind gpu so components/gpu.py adds the taint, or add "
            "nvidia.com/gpu=present:NoSchedule to the pool's nodeTaints. See docs/policies.md#ckv_mlops_103",
        )
        self.severity = Severities[BcSeverities.MEDIUM]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/nodeTaints", "properties/agentPoolProfiles"]
        pools = agent_pools(conf, self.entity_type)
        if pools is None:
            return CheckResult.FAILED
        gpu_pools = [pool for pool in pools if is_gpu_pool(pool)]
        if not gpu_pools:
            return CheckResult.UNKNOWN
        context = context_for(self.entity_path, conf)
        if context is None:
            return CheckResult.FAILED
        wanted = context.gpu_taint_string
        for pool in gpu_pools:
            taints = pool.get("nodeTaints")
            if not (isinstance(taints, list) and wanted in taints):
                return CheckResult.FAILED
        return CheckResult.PASSED


check = ArmGpuPoolTaint()

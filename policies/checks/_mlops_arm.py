"""Shared reading of AKS agent pools in ARM templates; defines no check.

A pool appears either inline (``Microsoft.ContainerService/managedClusters`` ``properties.agentPoolProfiles[]``) or
as its own resource (``Microsoft.ContainerService/managedClusters/agentPools`` with the pool's settings under
``properties``). Both shapes come back as a list of pool property dicts.
"""

from __future__ import annotations

from typing import Any

from _mlops_values import dict_list, get_path

MANAGED_CLUSTER = "Microsoft.ContainerService/managedClusters"
AGENT_POOL = "Microsoft.ContainerService/managedClusters/agentPools"


def agent_pools(conf: Any, entity_type: str) -> list[dict[str, Any]] | None:
    """The pools the resource declares; ``None`` when its shape is not what ARM has (so the check can FAIL)."""
    properties = get_path(conf, "properties")
    if not isinstance(properties, dict):
        return None
    if entity_type == AGENT_POOL:
        return [properties]
    profiles = properties.get("agentPoolProfiles")
    if profiles is None:
        return []
    pools = dict_list(profiles)
    return pools if isinstance(profiles, list) and len(pools) == len(profiles) else None

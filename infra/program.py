"""The platform program: one target's cluster and storage, then the same in-cluster layers everywhere."""

from __future__ import annotations

import pulumi

from infra.config import StackConfig
from infra.targets import TargetCluster


def build_target(cfg: StackConfig) -> TargetCluster:
    if cfg.target == "aws":
        from infra.targets import aws as target
    elif cfg.target == "azure":
        from infra.targets import azure as target
    else:
        from infra.targets import onprem as target
    return target.build(cfg)


def build(cfg: StackConfig) -> TargetCluster:
    from components.kubernetes.baseline import ClusterBaseline, ClusterBaselineArgs

    cluster = build_target(cfg)
    ClusterBaseline(
        "baseline",
        ClusterBaselineArgs.from_config(cfg),
        opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=cluster.dependencies),
    )
    pulumi.export("target", cfg.target)
    pulumi.export("region", cfg.region)
    pulumi.export("clusterName", cluster.cluster_name)
    pulumi.export("clusterEndpoint", cluster.endpoint)
    pulumi.export("buckets", cluster.buckets)
    for key, value in cluster.outputs.items():
        pulumi.export(key, value)
    return cluster

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
    from components.kubernetes.baseline import SERVING_NAMESPACE, ClusterBaseline, ClusterBaselineArgs
    from components.security.admission import ReleaseAdmission, ReleaseAdmissionArgs
    from components.services import kfp, kserve
    from components.services.services import PlatformServices, ServicesArgs
    from components.training.platform import TrainingPlatform, TrainingPlatformArgs

    cluster = build_target(cfg)
    services_args = ServicesArgs.from_config(cfg, cluster)  # refuses a stack without the services' buckets
    baseline = ClusterBaseline(
        "baseline",
        ClusterBaselineArgs.from_config(cfg),
        opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=cluster.dependencies),
    )
    services = PlatformServices(
        "services",
        services_args,
        namespaces=baseline.namespaces,
        opts=pulumi.ResourceOptions(providers=cluster.providers, depends_on=[baseline]),
    )
    training = TrainingPlatform(
        "training",
        TrainingPlatformArgs.from_config(
            cfg,
            pod_security_version=services_args.pod_security_version,
            pipelines_namespace=kfp.NAMESPACE,
            runner_service_account=kfp.RUNNER_SERVICE_ACCOUNT,
            namespaces=[baseline, services],  # the team namespaces and KFP's
        ),
        opts=pulumi.ResourceOptions(provider=cluster.provider),
    )
    ReleaseAdmission(
        "release-admission",
        ReleaseAdmissionArgs(
            serving_namespace=SERVING_NAMESPACE,
            pipelines_namespace=kfp.NAMESPACE,
            models_uri=services_args.buckets["models"],
            runtime=kserve.RUNTIME_NAME,
            model_service_account=kserve.MODEL_SERVER_ACCOUNT,
            approver_groups=cfg.identity.platform_admin,
            training_service_account=kfp.RUNNER_SERVICE_ACCOUNT,
            depends_on=[baseline, services],
        ),
        opts=pulumi.ResourceOptions(provider=cluster.provider),
    )
    pulumi.export("target", cfg.target)
    pulumi.export("region", cfg.region)
    pulumi.export("clusterName", cluster.cluster_name)
    pulumi.export("clusterEndpoint", cluster.endpoint)
    pulumi.export("buckets", cluster.buckets)
    for key, value in cluster.outputs.items():
        pulumi.export(key, value)
    pulumi.export("kfp_endpoint", services.kfp_endpoint)
    pulumi.export("feature_server_endpoint", services.feature_server_endpoint)
    pulumi.export("feature_registry_endpoint", services.feature_registry_endpoint)
    pulumi.export("online_store_endpoint", services.online_store_endpoint)
    pulumi.export("model_serving_endpoint", services.model_serving_endpoint)
    pulumi.export("training_cluster_queue", training.cluster_queue)
    pulumi.export("training_runtime", training.runtime_name)
    if cfg.gpus_per_node:  # `mlops pipeline submit --stack` sizes the TrainJob's ranks from it
        pulumi.export("training_gpus_per_node", cfg.gpus_per_node)
    return cluster

"""The platform program: one target's cluster and storage, then the same in-cluster layers everywhere."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pulumi

from infra.config import StackConfig
from infra.targets import TargetCluster

if TYPE_CHECKING:
    from components.security.mesh import ServiceMeshArgs
    from components.services.services import ServicesArgs


def build_target(cfg: StackConfig) -> TargetCluster:
    if cfg.target == "aws":
        from infra.targets import aws as target
    elif cfg.target == "azure":
        from infra.targets import azure as target
    else:
        from infra.targets import onprem as target
    return target.build(cfg)


KFP_CONTROLLERS = ("ml-pipeline-ui", "ml-pipeline-persistenceagent", "ml-pipeline-scheduledworkflow")
"""KFP's own ServiceAccounts that call its API server (upstream's manifests name them)."""


def service_mesh_args(
    cfg: StackConfig, services: ServicesArgs, namespaces: Mapping[str, pulumi.Input[str]]
) -> ServiceMeshArgs:
    """The mesh for the stack: every platform and team namespace enrolled, the IdP (``identity.oidc``) in front of
    KFP, the feature server and the model endpoints, each with the in-mesh callers that legitimately call it."""
    from components.kubernetes.baseline import FEATURE_STORE_NAMESPACE, SERVING_NAMESPACE
    from components.security.mesh import ProtectedService, ServiceMeshArgs, WebhookPort, principal
    from components.services import feature_server, kfp, knative

    runner = principal(kfp.NAMESPACE, kfp.RUNNER_SERVICE_ACCOUNT)
    serverless = services.kserve_deployment_mode == "Serverless"
    protected = [
        ProtectedService(
            kfp.NAMESPACE,
            [kfp.API_SERVICE, kfp.UI_SERVICE],
            [runner, *(principal(kfp.NAMESPACE, sa) for sa in KFP_CONTROLLERS)],
        ),
        ProtectedService(FEATURE_STORE_NAMESPACE, [feature_server.NAME], [runner]),
        # model endpoints: every Service KServe makes in the serving namespace; the activator proxies requests that
        # Kourier's gateway already authenticated, the deploy step health-checks the new version
        ProtectedService(
            SERVING_NAMESPACE,
            [],
            [
                runner,
                *([principal(knative.SERVING_NAMESPACE, knative.ACTIVATOR_SERVICE_ACCOUNT)] if serverless else []),
            ],
        ),
    ]
    webhooks = [
        WebhookPort(kfp.NAMESPACE, "cache-server", {"app": "cache-server"}, 8443),
        WebhookPort(kfp.NAMESPACE, "katib-controller", {"katib.kubeflow.org/component": "controller"}, 8443),
    ]
    if serverless:  # Kourier's gateway is the model endpoints' ingress: tokens are checked there first
        protected.append(
            ProtectedService(
                knative.KOURIER_NAMESPACE, [knative.KOURIER_INTERNAL_SERVICE, knative.KOURIER_GATEWAY], [runner]
            )
        )
        webhooks.append(WebhookPort(knative.SERVING_NAMESPACE, "knative-webhook", {"app": "webhook"}, 8443))
    return ServiceMeshArgs(
        namespaces={**namespaces, kfp.NAMESPACE: kfp.NAMESPACE},
        extra_namespaces=list(knative.NAMESPACES) if serverless else [],
        oidc_issuer=cfg.identity.oidc.issuer_url,
        oidc_audiences=[cfg.identity.oidc.audience],
        protected=protected,
        pod_security_version=services.pod_security_version,
        api_server_egress=services.egress.api_server(),
        webhook_ports=webhooks,
    )


def build(cfg: StackConfig) -> TargetCluster:
    from components.kubernetes.baseline import SERVING_NAMESPACE, ClusterBaseline
    from components.security.admission import ReleaseAdmission, ReleaseAdmissionArgs
    from components.security.mesh import ServiceMesh
    from components.services import kfp, kserve
    from components.services.services import PlatformServices
    from components.training.platform import TrainingPlatform
    from infra.targets.args import cluster_baseline_args, platform_services_args, training_platform_args
    from pipelines.serving.model_store import ModelStore

    cluster = build_target(cfg)
    services_args = platform_services_args(cfg, cluster)  # refuses a stack without the services' buckets
    baseline = ClusterBaseline(
        "baseline",
        cluster_baseline_args(cfg),
        opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=cluster.dependencies),
    )
    services = PlatformServices(
        "services",
        services_args,
        namespaces=baseline.namespaces,
        opts=pulumi.ResourceOptions(providers=cluster.providers, depends_on=[baseline]),
    )
    ServiceMesh(
        "mesh",
        service_mesh_args(cfg, services_args, baseline.namespaces),
        opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=[baseline, services]),
    )
    training = TrainingPlatform(
        "training",
        training_platform_args(
            cfg,
            pod_security_version=services_args.pod_security_version,
            pipelines_namespace=kfp.NAMESPACE,
            runner_service_account=kfp.RUNNER_SERVICE_ACCOUNT,
            api_server_egress=cluster.egress.api_server(),
            namespaces=[baseline, services],  # the team namespaces and KFP's
        ),
        opts=pulumi.ResourceOptions(provider=cluster.provider),
    )
    ReleaseAdmission(
        "release-admission",
        ReleaseAdmissionArgs(
            serving_namespace=SERVING_NAMESPACE,
            pipelines_namespace=kfp.NAMESPACE,
            models_serving_root=pulumi.Output.from_input(services_args.buckets["models"]).apply(
                lambda uri: ModelStore.parse(uri).serving_root
            ),
            runtime=kserve.RUNTIME_NAME,
            model_service_account=kserve.MODEL_SERVER_ACCOUNT,
            approver_groups=cfg.identity.platform_admin,
            training_service_account=kfp.RUNNER_SERVICE_ACCOUNT,
            require_human_approval=cfg.release.require_human_approval,
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
    pulumi.export("release_requires_approval", cfg.release.require_human_approval)
    if cfg.gpus_per_node:  # `mlops pipeline submit --stack` sizes the TrainJob's ranks from it
        pulumi.export("training_gpus_per_node", cfg.gpus_per_node)
    return cluster

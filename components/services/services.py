"""The platform services on one stack: Feast, Kubeflow Pipelines and KServe, wired to the target's storage,
keys, network and identity.

:class:`ServicesArgs` collects what the services need (the target, ``infra/targets``, fills it from the stack config
and the cluster it built); the cloud-specific
parts come from :mod:`.aws`, :mod:`.azure` and :mod:`.onprem`, the rest is the same on every target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal

import pulumi

from components import versions
from components.kubernetes.baseline import (
    DEFAULT_TEAM_NAMESPACES,
    FEATURE_STORE_NAMESPACE,
    PIPELINES_NAMESPACE,
    SERVING_NAMESPACE,
)
from components.kubernetes.egress import EgressEndpoints
from components.kubernetes.namespace import namespaces_named
from components.security.admission import DEPLOYER_SERVICE_ACCOUNT
from components.services import db_tls, kfp, knative, kserve
from components.services.feature_server import CA_DIR
from components.services.feature_server import NAME as FEATURE_SERVER
from components.services.feature_server import PORT as FEATURE_SERVER_PORT
from components.services.feature_store import FeatureStore, FeatureStoreArgs, FeatureStoreBackends
from components.services.identity import BucketGrant, IdentityProvider

Target = Literal["aws", "azure", "onprem"]
FEATURE_GRANTS = [BucketGrant("features", "read")]


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": p} for p in ports]


def _backends_of(
    data: Any, target: ModuleType, ca_bundles: Sequence[pulumi.Resource] = (), **reach: Any
) -> FeatureStoreBackends:
    """The registry and online store a target's feature-data component (``data``) created, with the user and database
    its module (``target``) names; ``reach`` says how clients get to them (TLS, ports, egress). With ``ca_bundles``
    (the clouds' :mod:`~components.services.db_tls` ConfigMaps) both are verified against the mounted bundle."""
    if ca_bundles:
        reach = {
            "registry_ssl_mode": "verify-full",
            "registry_ssl_root_cert": db_tls.POSTGRES_CA_PATH,
            "redis_ca_cert": db_tls.REDIS_CA_PATH,
            "ca_config_map": db_tls.CONFIG_MAP,
            **reach,
        }
    return FeatureStoreBackends(
        registry_host=data.registry_host,
        registry_password=data.registry_password,
        redis_host=data.redis_host,
        redis_password=data.redis_password,
        registry_user=target.REGISTRY_USER,
        registry_database=target.REGISTRY_DATABASE,
        dependencies=[data, *ca_bundles],
        **reach,
    )


@dataclass
class ServicesArgs:
    target: Target
    region: str
    production: bool
    pod_security_version: str
    buckets: Mapping[str, pulumi.Input[str]]
    """Bucket name -> URI from the target (``features``, ``models``, ``pipeline-artifacts`` at least)."""
    network: Mapping[str, Any]
    """The target's ``TargetCluster.network`` (``infra/targets``)."""
    workload_identity: Mapping[str, Any]
    vpc_cidr: str | None
    """The VPC/VNet range the managed databases admit (clouds)."""
    encryption_key: pulumi.Input[str] | None
    egress: EgressEndpoints
    """Where pods may go outside the pod network (the target's ``TargetCluster.egress``): API server, private
    endpoints, proxy; never 0.0.0.0/0."""
    name_prefix: str
    """Stem for cloud resource names (the AWS stack slug; ``mlops-<env>-<hash>`` on Azure)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    postgres_subnet_cidr: str | None = None
    """Azure: the free VNet range for the PostgreSQL delegated subnet (default: the first free /28)."""
    mysql_subnet_cidr: str | None = None
    """Azure: the free VNet range for KFP's MySQL delegated subnet (default: the next free /28)."""
    team_namespaces: Sequence[str] = DEFAULT_TEAM_NAMESPACES
    certificate_issuer: str = "mlops-ca"
    """On-prem: the cert-manager ClusterIssuer signing the databases' certificates."""
    kfp_api_exposure: Literal["cluster", "internal-load-balancer"] = "cluster"
    kserve_deployment_mode: Literal["Serverless", "RawDeployment"] = "Serverless"
    """``Serverless`` installs Knative Serving + Kourier (canary traffic); ``RawDeployment`` neither (no canary)."""
    knative_gateway_exposure: knative.Exposure = "cluster"
    model_server_repository: str = versions.MODEL_SERVER_REPOSITORY
    """Where the cluster pulls the model-server image (``pipelines/serving/Dockerfile``) from; tag = project version."""
    require_model_object_lock: bool = True
    """Safeguard: refuse a models bucket without versioning and object lock."""

    @property
    def ml_namespaces(self) -> list[str]:
        """Namespaces whose pods may use the services: the platform's ML namespaces, KFP's, the teams'."""
        return [PIPELINES_NAMESPACE, SERVING_NAMESPACE, FEATURE_STORE_NAMESPACE, kfp.NAMESPACE, *self.team_namespaces]


class PlatformServices(pulumi.ComponentResource):
    """Feast (registry, online store, offline store, feature server), Kubeflow Pipelines and KServe."""

    kfp_endpoint: pulumi.Output[str]
    feature_server_endpoint: pulumi.Output[str]
    feature_registry_endpoint: pulumi.Output[str]
    online_store_endpoint: pulumi.Output[str]
    model_serving_endpoint: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: ServicesArgs,
        namespaces: Mapping[str, pulumi.Input[str]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:services:PlatformServices", name, None, opts)
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        kfp_namespace = kfp.secure_namespace(f"{name}-kfp-ns", args.pod_security_version, parent=self)
        identities = self._identities({**namespaces, kfp.NAMESPACE: kfp_namespace.name})
        self._ca_bundles = self._database_ca_bundles(
            name, {FEATURE_STORE_NAMESPACE: namespaces[FEATURE_STORE_NAMESPACE], kfp.NAMESPACE: kfp_namespace.name}
        )

        pipelines = kfp.KubeflowPipelines(
            f"{name}-kfp",
            kfp.KubeflowPipelinesArgs(
                namespace=kfp_namespace,
                artifacts_uri=args.buckets["pipeline-artifacts"],
                runner_identity=identities.bind(
                    "kfp-pipeline-runner",
                    namespace=kfp.NAMESPACE,
                    service_account=kfp.RUNNER_SERVICE_ACCOUNT,
                    grants=kfp.RUNNER_GRANTS,
                    parent=self,
                ),
                ui_identity=identities.bind(
                    "kfp-ui",
                    namespace=kfp.NAMESPACE,
                    service_account=kfp.UI_SERVICE_ACCOUNT,
                    grants=kfp.UI_GRANTS,
                    parent=self,
                ),
                client_namespaces=args.ml_namespaces,
                egress=self._pipeline_egress(),
                region=args.region if args.target == "aws" else None,
                object_store_endpoint=args.network.get("object_store_endpoint"),
                api_exposure=args.kfp_api_exposure,
                metadata_database=self._pipeline_metadata(),
            ),
            opts=child,
        )
        features = FeatureStore(
            f"{name}-feast",
            FeatureStoreArgs(
                namespace=namespaces[FEATURE_STORE_NAMESPACE],
                offline_uri=args.buckets["features"],
                offline_endpoint=args.network.get("object_store_endpoint"),
                backends=lambda parent: self._backends(parent, namespaces[FEATURE_STORE_NAMESPACE]),
                identity=lambda parent: identities.bind(
                    "feast-feature-server",
                    namespace=FEATURE_STORE_NAMESPACE,
                    service_account=FEATURE_SERVER,
                    grants=FEATURE_GRANTS,
                    parent=parent,
                ),
                client_namespaces=args.ml_namespaces,
                config_copies=[pipelines.namespace],
            ),
            opts=child,
        )
        serverless = args.kserve_deployment_mode == "Serverless"
        knative_serving = (
            knative.KnativeServing(
                f"{name}-knative",
                knative.KnativeServingArgs(
                    pod_security_version=args.pod_security_version, gateway_exposure=args.knative_gateway_exposure
                ),
                opts=child,
            )
            if serverless
            else None
        )
        serving = kserve.KServe(
            f"{name}-kserve",
            kserve.KServeArgs(
                serving_namespace=namespaces[SERVING_NAMESPACE],
                model_identity=identities.bind(
                    "kserve-model-server",
                    namespace=SERVING_NAMESPACE,
                    service_account=kserve.MODEL_SERVER_ACCOUNT,
                    grants=kserve.MODEL_GRANTS,
                    parent=self,
                ),
                deployer_namespace=kfp.NAMESPACE,
                deployer_service_account=DEPLOYER_SERVICE_ACCOUNT,
                pod_security_version=args.pod_security_version,
                client_namespaces=args.ml_namespaces,
                egress=self._object_store_egress(),
                deployment_mode=args.kserve_deployment_mode,
                knative=knative_serving.ready if knative_serving else (),
                runtime_image=versions.Image(args.model_server_repository, versions.PROJECT_VERSION),
            ),
            opts=child,
        )
        self.kfp_endpoint = pipelines.endpoint
        self.feature_server_endpoint = features.feature_server_endpoint
        self.feature_registry_endpoint = features.registry_endpoint
        self.online_store_endpoint = features.online_store_endpoint
        self.model_serving_endpoint = serving.namespace.apply(
            lambda ns: f"http://{{inference-service}}.{ns}.svc.cluster.local"
        )
        self.register_outputs(
            {
                "kfpEndpoint": self.kfp_endpoint,
                "featureServerEndpoint": self.feature_server_endpoint,
                "featureRegistryEndpoint": self.feature_registry_endpoint,
                "onlineStoreEndpoint": self.online_store_endpoint,
                "modelServingEndpoint": self.model_serving_endpoint,
            }
        )

    # --- per target ---------------------------------------------------------------------------------------------
    def _database_ca_bundles(self, name: str, namespaces: Mapping[str, pulumi.Input[str]]) -> list[pulumi.Resource]:
        """The CA bundle ConfigMap (:mod:`~components.services.db_tls`) in each namespace whose pods connect to the
        clouds' databases and caches: AWS's RDS bundle fetched at ``pulumi up`` plus the pinned Amazon roots
        (ElastiCache), Azure's pinned roots. None on-prem: clients verify against the issuer's CA Secret."""
        args = self.args
        if args.target == "aws":
            data: dict[str, pulumi.Input[str]] = {
                db_tls.POSTGRES_CA: db_tls.rds_ca_bundle(f"{name}-rds-ca", args.region, parent=self),
                db_tls.REDIS_CA: db_tls.pinned_bundle("amazon-roots.pem"),
            }
        elif args.target == "azure":
            roots = db_tls.pinned_bundle("azure-roots.pem")
            data = {db_tls.POSTGRES_CA: roots, db_tls.REDIS_CA: roots}
        else:
            return []
        return [
            db_tls.ca_bundle_config_map(f"{name}-db-ca-{ns}", namespace, data, parent=self)
            for ns, namespace in namespaces.items()
        ]

    def _identities(self, namespaces: Mapping[str, pulumi.Input[str]]) -> IdentityProvider:
        """The target's identity provider; ``namespaces`` (name -> name output) orders on-prem Secrets after them."""
        args = self.args
        if args.target == "aws":
            from components.services.aws import AwsIdentities

            return AwsIdentities(
                buckets=args.buckets,
                kms_key_arn=args.encryption_key or "",
                oidc_provider_arn=args.workload_identity["oidc_provider_arn"],
                oidc_issuer_url=args.workload_identity["oidc_issuer_url"],
                region=args.region,
                name_prefix=args.name_prefix,
                tags=args.tags,
            )
        if args.target == "azure":
            from components.services.azure import AzureIdentities

            return AzureIdentities(
                buckets=args.buckets,
                resource_group_name=args.network["resource_group_name"],
                location=args.region,
                oidc_issuer_url=args.workload_identity["oidc_issuer_url"],
                tags=args.tags,
            )
        from components.services.onprem import OnPremIdentities

        return OnPremIdentities(
            buckets=args.buckets,
            object_store_endpoint=args.network["object_store_endpoint"],
            object_store_namespace=args.network["object_store_namespace"],
            object_store_ca_secret=args.network["object_store_ca_secret"],
            namespaces=namespaces,
        )

    def _backends(self, parent: pulumi.Resource, namespace: pulumi.Input[str]) -> FeatureStoreBackends:
        args = self.args
        opts = pulumi.ResourceOptions(parent=parent)
        if args.target == "aws":
            from components.services import aws

            data = aws.AwsFeatureData("feast-data", self._aws_database(aws.AwsFeatureDataArgs), opts=opts)
            return _backends_of(
                data,
                aws,
                # RDS's CA bundle (fetched at `pulumi up`) and Amazon's roots (ElastiCache), mounted from db_tls
                self._ca_bundles,
                redis_port=aws.REDIS_PORT,
                egress=self._managed_egress(aws.POSTGRES_PORT, aws.REDIS_PORT),
            )
        if args.target == "azure":
            from components.services import azure

            data = azure.AzureFeatureData(
                "feast-data",
                self._azure_database(
                    azure.AzureFeatureDataArgs,
                    args.postgres_subnet_cidr,
                    services_subnet_id=args.network["services_subnet_id"],
                ),
                opts=opts,
            )
            return _backends_of(
                data,
                azure,
                self._ca_bundles,  # the pinned DigiCert / Microsoft roots
                redis_port=azure.REDIS_TLS_PORT,
                egress=self._managed_egress(azure.POSTGRES_PORT, azure.REDIS_TLS_PORT),
            )
        from components.services import onprem

        data = onprem.OnPremFeatureData(
            "feast-data",
            onprem.OnPremFeatureDataArgs(
                namespace=namespace,
                storage_class=args.network["storage_class"],
                certificate_issuer=args.certificate_issuer,
                client_namespaces=[FEATURE_STORE_NAMESPACE, kfp.NAMESPACE, PIPELINES_NAMESPACE, *args.team_namespaces],
            ),
            opts=opts,
        )
        ca = f"{CA_DIR}/ca.crt"
        return _backends_of(
            data,
            onprem,
            registry_ssl_mode="verify-full",
            registry_ssl_root_cert=ca,
            redis_port=onprem.REDIS_PORT,
            redis_ca_cert=ca,
            ca_secret=data.ca_secret,
            egress=[
                {
                    "to": [
                        {
                            "podSelector": {
                                "matchExpressions": [
                                    {
                                        "key": "app.kubernetes.io/instance",
                                        "operator": "In",
                                        "values": [onprem.REGISTRY_RELEASE, onprem.ONLINE_RELEASE],
                                    }
                                ]
                            }
                        }
                    ],
                    "ports": _tcp(onprem.POSTGRES_PORT, onprem.REDIS_PORT),
                },
                *self._object_store_egress(),
            ],
        )

    def _aws_database(self, args_class: type) -> Any:
        """Placement and encryption every RDS database of the platform shares (Feast registry, KFP metadata)."""
        args = self.args
        return args_class(
            name_prefix=args.name_prefix,
            vpc_id=args.network["vpc_id"],
            vpc_cidr=args.vpc_cidr or "",
            private_subnet_ids=args.network["private_subnet_ids"],
            kms_key_arn=args.encryption_key or "",
            production=args.production,
            tags=args.tags,
        )

    def _azure_database(self, args_class: type, delegated_subnet_cidr: str | None, **extra: Any) -> Any:
        """Placement, CMK and diagnostics every Azure flexible server of the platform shares."""
        args = self.args
        return args_class(
            name_prefix=args.name_prefix,
            resource_group_name=args.network["resource_group_name"],
            location=args.region,
            vnet_id=args.network["vnet_id"],
            vnet_name=args.network["vnet_name"],
            delegated_subnet_cidr=delegated_subnet_cidr or "",
            key_uri=args.encryption_key or "",
            encryption_identity_id=args.network["encryption_identity_id"],
            workspace_id=args.network["log_analytics_workspace_id"],
            production=args.production,
            tags=args.tags,
            **extra,
        )

    def _pipeline_metadata(self) -> kfp.MetadataDatabase | None:
        """KFP's metadata in the cloud's managed, encrypted, TLS-only MySQL; None on-prem (upstream's in-cluster
        MySQL stays)."""
        args = self.args
        opts = pulumi.ResourceOptions(parent=self)
        if args.target == "aws":
            from components.services import aws

            db = aws.AwsPipelineMetadata("kfp-metadata", self._aws_database(aws.AwsDatabaseArgs), opts=opts)
            return kfp.MetadataDatabase(
                host=db.host,
                username=db.username,
                password=db.password,
                tls="true",
                port=aws.MYSQL_PORT,
                ca_config_map=db_tls.CONFIG_MAP,  # the RDS bundle: RDS for MySQL chains to the same CAs
            )
        if args.target == "azure":
            from components.services import azure

            server = azure.AzurePipelineMetadata(
                "kfp-metadata", self._azure_database(azure.AzurePipelineMetadataArgs, args.mysql_subnet_cidr), opts=opts
            )
            return kfp.MetadataDatabase(
                host=server.host,
                username=server.username,
                password=server.password,
                tls="true",
                port=azure.MYSQL_PORT,
                ca_config_map=db_tls.CONFIG_MAP,
            )
        return None

    # --- network ------------------------------------------------------------------------------------------------
    def _object_store_egress(self) -> list[dict[str, Any]]:
        """To the object store: MinIO's namespace on-prem; on the clouds HTTPS to the private endpoints in the
        VPC/VNet (S3 and STS interface endpoints, Blob private endpoints) and, where set, the proxy (Entra ID)."""
        if self.args.target == "onprem":
            return [{"to": [namespaces_named("object-store")], "ports": _tcp(9000)}]
        return self.args.egress.cloud_services()

    def _managed_egress(self, *ports: int) -> list[dict[str, Any]]:
        """To the managed registry and online store, inside the VPC/VNet only, and the object store."""
        return [
            {"to": [{"ipBlock": {"cidr": self.args.vpc_cidr}}], "ports": _tcp(*ports)},
            *self._object_store_egress(),
        ]

    def _pipeline_egress(self) -> list[dict[str, Any]]:
        """KFP's controllers and pipeline steps: the API server, the feature store, the object store, managed DBs,
        and the model servers the deploy step health-checks (through Kourier's cluster-local gateway in Serverless
        mode, directly in RawDeployment), and the proxy for a package index (pipeline steps pip-install pinned
        packages)."""
        rules = [
            *self.args.egress.api_server(),
            {"to": [namespaces_named(FEATURE_STORE_NAMESPACE)], "ports": _tcp(FEATURE_SERVER_PORT, 5432, 6379)},
            {"to": [namespaces_named(SERVING_NAMESPACE)], "ports": _tcp(kserve.INFERENCE_PORT)},
            {"to": [namespaces_named(knative.KOURIER_NAMESPACE)], "ports": _tcp(knative.KOURIER_INTERNAL_PORT)},
            *self._object_store_egress(),
            *([] if self.args.target != "onprem" else self.args.egress.proxy()),
        ]
        if self.args.vpc_cidr:
            rules.append({"to": [{"ipBlock": {"cidr": self.args.vpc_cidr}}], "ports": _tcp(5432, 6379, 6380, 3306)})
        return rules

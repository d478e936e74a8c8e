"""Safeguards the components set, each flipped the way turning its component argument off would flip it.

A :class:`Mutation` names a shipped stack, the Pulumi resource to change (type token and name), the edit to its
inputs (or its removal), and the check id that must then fail, on that resource or on the one named by ``on``.
Edits change exactly what the component would have planned with the safeguard off; nothing else in the stack moves.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Edit = Callable[[dict[str, Any]], None]

AWS, AZURE, ONPREM = "aws-uae-prod", "azure-uae-prod", "onprem-dc1"

S3 = "aws:s3/bucket:Bucket"
KMS_KEY = "aws:kms/key:Key"
EKS = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
TRAIL = "aws:cloudtrail/trail:Trail"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
VPC = "aws:ec2/vpc:Vpc"
RDS = "aws:rds/instance:Instance"
REDIS_AWS = "aws:elasticache/replicationGroup:ReplicationGroup"
STORAGE = "azure-native:storage:StorageAccount"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
AKS = "azure-native:containerservice:ManagedCluster"
AKS_POOL = "azure-native:containerservice:AgentPool"
VAULT = "azure-native:keyvault:Vault"
VAULT_KEY = "azure-native:keyvault:Key"
REDIS_AZURE = "azure-native:redis:Redis"
POSTGRES = "azure-native:dbforpostgresql:Server"
POSTGRES_CONFIG = "azure-native:dbforpostgresql:Configuration"
MYSQL = "azure-native:dbformysql:Server"
MYSQL_CONFIG = "azure-native:dbformysql:Configuration"
RDS_PARAMETERS = "aws:rds/parameterGroup:ParameterGroup"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
NSG = "azure-native:network:NetworkSecurityGroup"
NAMESPACE = "kubernetes:core/v1:Namespace"
RESOURCE_QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
CLUSTER_QUEUE = "kubernetes:kueue.x-k8s.io/v1beta1:ClusterQueue"
LOCAL_QUEUE = "kubernetes:kueue.x-k8s.io/v1beta1:LocalQueue"
TRAINING_RUNTIME = "kubernetes:trainer.kubeflow.org/v1alpha1:ClusterTrainingRuntime"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
PEER_AUTHENTICATION = "kubernetes:security.istio.io/v1:PeerAuthentication"
REQUEST_AUTHENTICATION = "kubernetes:security.istio.io/v1:RequestAuthentication"
AUTHORIZATION_POLICY = "kubernetes:security.istio.io/v1:AuthorizationPolicy"
EKS_ADDON = "aws:eks/addon:Addon"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CALICO_INSTALLATION = "kubernetes:operator.tigera.io/v1:Installation"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
VAP_BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
SERVING_RUNTIME = ("kubernetes:serving.kserve.io/v1alpha1:ServingRuntime", "services-kserve-runtime")
"""Where the release admission check reports (every stack serves models through this runtime)."""
S3_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
MANAGEMENT_POLICY = "azure-native:storage:ManagementPolicy"
KFP_NAMESPACE = (NAMESPACE, "services-kfp-ns")
"""The pipelines namespace (``kubeflow``), the default team's: where the training checks report."""


@dataclass(frozen=True)
class Mutation:
    id: str
    stack: str
    type: str
    name: str
    expect: str
    """The check id that must fail once the safeguard is off."""
    edit: Edit | None
    """Changes the resource's inputs in place; None removes the resource from the stack."""
    why: str
    """The component argument or default this flips."""
    on: tuple[str, str] | None = None
    """(type, name) of the resource the finding lands on, when it is not the edited one."""
    add: Callable[[], dict[str, Any]] | None = None
    """A resource the flipped argument adds (``type`` and ``name`` name it): returns its inputs."""
    baseline: tuple[str, str] | None = None
    """Where the check must pass in the shipped stack, when the target does not exist there (an added resource)."""

    @property
    def target(self) -> tuple[str, str]:
        return self.on or (self.type, self.name)


def _walk(inputs: dict[str, Any], path: str) -> tuple[Any, str | int]:
    node: Any = inputs
    steps: list[str | int] = [int(s) if s.isdigit() else s for s in path.split(".")]
    for step in steps[:-1]:
        node = node[step]
    return node, steps[-1]


def put(*pairs: tuple[str, Any]) -> Edit:
    """Set dotted paths (``vpcConfig.endpointPublicAccess``, ``blockDeviceMappings.0.ebs.encrypted``)."""

    def edit(inputs: dict[str, Any]) -> None:
        for path, value in pairs:
            node, last = _walk(inputs, path)
            node[last] = value

    return edit


def drop(*paths: str) -> Edit:
    def edit(inputs: dict[str, Any]) -> None:
        for path in paths:
            node, last = _walk(inputs, path)
            del node[last]

    return edit


def _container(inputs: dict[str, Any]) -> dict[str, Any]:
    return inputs["spec"]["template"]["spec"]["containers"][0]


def container(**security: Any) -> Edit:
    """Set securityContext fields of the workload's first container."""
    return lambda inputs: _container(inputs).setdefault("securityContext", {}).update(security)


def without_tls_deny(inputs: dict[str, Any]) -> None:
    policy = json.loads(inputs["policy"])
    policy["Statement"] = [
        s for s in policy["Statement"] if "aws:SecureTransport" not in json.dumps(s.get("Condition", {}))
    ]
    inputs["policy"] = json.dumps(policy)


def pod(**fields: Any) -> Edit:
    """Set fields of the workload's pod spec."""
    return lambda inputs: inputs["spec"]["template"]["spec"].update(fields)


def with_statement(statement: dict[str, Any]) -> Edit:
    """Add a statement to a JSON policy document input."""

    def edit(inputs: dict[str, Any]) -> None:
        policy = json.loads(inputs["policy"])
        policy["Statement"].append(statement)
        inputs["policy"] = json.dumps(policy)

    return edit


def without_seccomp(inputs: dict[str, Any]) -> None:
    spec = inputs["spec"]["template"]["spec"]
    for holder in (spec, *spec["containers"]):
        holder.get("securityContext", {}).pop("seccompProfile", None)


SSH_FROM_ANYWHERE = {
    "name": "ssh",
    "priority": 100,
    "direction": "Inbound",
    "access": "Allow",
    "protocol": "Tcp",
    "sourceAddressPrefix": "*",
    "sourcePortRange": "*",
    "destinationAddressPrefix": "*",
    "destinationPortRange": "22",
}


def without_tag(tag: str) -> Edit:
    return lambda inputs: inputs["tags"].pop(tag)


def without_gpu_taint_aws(inputs: dict[str, Any]) -> None:
    inputs["taints"] = [t for t in inputs.get("taints", []) if t.get("key") != "nvidia.com/gpu"]


def without_gpu_taint_azure(inputs: dict[str, Any]) -> None:
    inputs["nodeTaints"] = [t for t in inputs.get("nodeTaints", []) if not t.startswith("nvidia.com/gpu")]


def without_gpu_quota(inputs: dict[str, Any]) -> None:
    inputs["spec"]["hard"].pop("requests.nvidia.com/gpu")


def without_gpu_taint_karpenter(inputs: dict[str, Any]) -> None:
    template = inputs["spec"]["template"]["spec"]
    template["taints"] = [t for t in template["taints"] if t.get("key") != "nvidia.com/gpu"]


def without_limits(inputs: dict[str, Any]) -> None:
    _container(inputs)["resources"].pop("limits")


def without_minio_expiry(bucket: str) -> Edit:
    """The MinIO release's mc commands without the bucket's ``ilm rule add`` (expireAfterDays unset)."""

    def edit(inputs: dict[str, Any]) -> None:
        commands = inputs["values"]["customCommands"]
        inputs["values"]["customCommands"] = [
            c for c in commands if not (c["command"].startswith("ilm rule add") and c["command"].endswith(f"/{bucket}"))
        ]

    return edit


def kourier_gateway_upstream() -> dict[str, Any]:
    """Kourier's gateway Service as upstream's ``kourier.yaml`` ships it, without ``knative.internal_only``'s change
    to ClusterIP: a public load balancer in front of every model server."""
    from components.services import knative

    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": knative.KOURIER_GATEWAY, "namespace": knative.KOURIER_NAMESPACE},
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app": "3scale-kourier-gateway"},
            "ports": [
                {"name": "http2", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                {"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"},
            ],
        },
    }


def kfp_api_load_balancer(annotations: dict[str, str]) -> dict[str, Any]:
    """The Service ``KubeflowPipelinesArgs.api_exposure="internal-load-balancer"`` adds, with given annotations."""
    from components.services import kfp

    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"{kfp.API_SERVICE}-internal", "namespace": kfp.NAMESPACE, "annotations": annotations},
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app": kfp.API_SERVICE},
            "ports": [{"name": "http", "port": kfp.API_PORT, "targetPort": kfp.API_PORT, "protocol": "TCP"}],
        },
    }


# fmt: off
MUTATIONS: list[Mutation] = [
    # --- AWS foundation (components/aws) ---
    Mutation("aws-kms-rotation-off", AWS, KMS_KEY, "platform", "CKV_MLOPS_006",
             put(("enableKeyRotation", False)), "KmsKey: rotation always on"),
    Mutation("aws-eks-public-endpoint", AWS, EKS, "eks", "CKV_MLOPS_007",
             put(("vpcConfig.endpointPublicAccess", True)), "EksClusterArgs.public_endpoint=True"),
    Mutation("aws-eks-no-private-endpoint", AWS, EKS, "eks", "CKV_MLOPS_007",
             put(("vpcConfig.endpointPrivateAccess", False)), "EksCluster: API reachable from the VPC"),
    Mutation("aws-eks-secrets-unencrypted", AWS, EKS, "eks", "CKV_AWS_58",
             drop("encryptionConfig"), "EksCluster: envelope encryption of secrets with the CMK"),
    Mutation("aws-eks-control-plane-logs-missing", AWS, EKS, "eks", "CKV_AWS_37",
             put(("enabledClusterLogTypes", ["api"])), "EksCluster: all five control-plane log types"),
    Mutation("aws-imdsv1", AWS, LAUNCH_TEMPLATE, "pool-gpu-a10g", "CKV_MLOPS_004",
             put(("metadataOptions.httpTokens", "optional")), "ManagedNodeGroup: IMDSv2 only"),
    Mutation("aws-node-volume-unencrypted", AWS, LAUNCH_TEMPLATE, "pool-system", "CKV_MLOPS_005",
             put(("blockDeviceMappings.0.ebs.encrypted", "false")), "ManagedNodeGroup: encrypted root volume"),
    Mutation("aws-node-volume-no-cmk", AWS, LAUNCH_TEMPLATE, "pool-cpu-batch", "CKV_MLOPS_005",
             drop("blockDeviceMappings.0.ebs.kmsKeyId"), "ManagedNodeGroup: root volume under the stack's CMK"),
    Mutation("aws-gpu-taint-missing", AWS, NODE_GROUP, "pool-gpu-a10g", "CKV_MLOPS_003",
             without_gpu_taint_aws, "ManagedNodeGroup: GPU pools carry components.gpu.GPU_TAINT"),
    Mutation("aws-node-group-no-launch-template", AWS, NODE_GROUP, "pool-system", "CKV_MLOPS_008",
             drop("launchTemplate"), "ManagedNodeGroup: hardened launch template"),
    Mutation("aws-wrong-region", AWS, S3, "bucket-datasets", "CKV_MLOPS_001",
             put(("region", "eu-west-1")), "residency.allowedRegions: resource outside the stack's regions"),
    Mutation("aws-missing-tag", AWS, S3, "bucket-models", "CKV_MLOPS_002",
             without_tag("data-classification"), "required tags on every resource"),
    Mutation("aws-public-bucket", AWS, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "bucket-datasets",
             "CKV_AWS_56", put(("restrictPublicBuckets", False), ("blockPublicPolicy", False),
                               ("blockPublicAcls", False), ("ignorePublicAcls", False)),
             "SecureBucket: public access block"),
    Mutation("aws-bucket-sse-removed", AWS,
             "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
             "bucket-features", "CKV_AWS_145", None, "SecureBucket: SSE-KMS default encryption",
             on=(S3, "bucket-features")),
    Mutation("aws-bucket-versioning-off", AWS, "aws:s3/bucketVersioning:BucketVersioning", "bucket-models",
             "CKV_AWS_21", put(("versioningConfiguration.status", "Suspended")), "SecureBucketArgs.versioning=False",
             on=(S3, "bucket-models")),
    Mutation("aws-bucket-logging-removed", AWS, "aws:s3/bucketLogging:BucketLogging", "bucket-datasets",
             "CKV_AWS_18", None, "SecureBucket: server access logging", on=(S3, "bucket-datasets")),
    Mutation("aws-bucket-policy-no-tls-deny", AWS, "aws:s3/bucketPolicy:BucketPolicy", "bucket-pipeline-artifacts",
             "CKV_MLOPS_009", without_tls_deny, "SecureBucket: deny aws:SecureTransport=false"),
    Mutation("aws-flow-logs-removed", AWS, "aws:ec2/flowLog:FlowLog", "network-flow-logs", "CKV2_AWS_11", None,
             "PrivateNetwork: VPC flow logs", on=(VPC, "network")),
    Mutation("aws-cloudtrail-validation-off", AWS, TRAIL, "audit", "CKV_AWS_36",
             put(("enableLogFileValidation", False)), "AuditTrail: log file validation"),
    Mutation("aws-cloudtrail-unencrypted", AWS, TRAIL, "audit", "CKV_AWS_35",
             drop("kmsKeyId"), "AuditTrail: trail encrypted with the audit CMK"),
    Mutation("aws-log-group-unencrypted", AWS, LOG_GROUP, "eks-control-plane", "CKV_AWS_158",
             drop("kmsKeyId"), "EksCluster: control-plane log group under the CMK"),
    Mutation("aws-log-retention-short", AWS, LOG_GROUP, "network-flow-logs", "CKV_AWS_338",
             put(("retentionInDays", 7)), "PrivateNetworkArgs.flow_log_retention_days=7"),
    Mutation("aws-imds-hop-limit", AWS, LAUNCH_TEMPLATE, "pool-system", "CKV_AWS_341",
             put(("metadataOptions.httpPutResponseHopLimit", 3)), "ManagedNodeGroupArgs.imds_hop_limit=3"),
    Mutation("aws-eks-no-deletion-protection", AWS, EKS, "eks", "CKV_MLOPS_010",
             put(("deletionProtection", False)), "EksClusterArgs.deletion_protection=False"),
    Mutation("aws-kms-policy-public", AWS, KMS_KEY, "platform", "CKV_AWS_33",
             with_statement({"Sid": "Anyone", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}),
             "KmsKey: key policy names the account, services and roles only"),
    Mutation("aws-default-sg-open", AWS, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "network",
             "CKV2_AWS_12", put(("ingress", [{"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}])),
             "PrivateNetwork: default security group with no rules", on=(VPC, "network")),
    # --- Azure foundation (components/azure) ---
    Mutation("azure-storage-tls10", AZURE, STORAGE, "storage-data-account", "CKV_MLOPS_105",
             put(("minimumTlsVersion", "TLS1_0")), "StorageAccount: TLS 1.2 minimum"),
    Mutation("azure-storage-http", AZURE, STORAGE, "storage-models-account", "CKV_MLOPS_106",
             put(("enableHttpsTrafficOnly", False)), "StorageAccount: HTTPS only"),
    Mutation("azure-storage-public-blob", AZURE, STORAGE, "storage-artifacts-account", "CKV_MLOPS_107",
             put(("allowBlobPublicAccess", True)), "StorageAccount: no public blob access"),
    Mutation("azure-storage-default-allow", AZURE, STORAGE, "storage-data-account", "CKV_AZURE_35",
             put(("networkRuleSet.defaultAction", "Allow")), "StorageAccount: network default action Deny"),
    Mutation("azure-storage-public-network", AZURE, STORAGE, "storage-data-account", "CKV_AZURE_59",
             put(("publicNetworkAccess", "Enabled")), "StorageAccount: private endpoints only"),
    Mutation("azure-storage-no-infra-encryption", AZURE, STORAGE, "storage-models-account", "CKV_MLOPS_110",
             put(("encryption.requireInfrastructureEncryption", False)), "StorageAccount: double encryption"),
    Mutation("azure-storage-no-cmk", AZURE, STORAGE, "storage-artifacts-account", "CKV_MLOPS_111",
             put(("encryption.keySource", "Microsoft.Storage")), "StorageAccount: customer-managed key"),
    Mutation("azure-blob-soft-delete-off", AZURE, BLOB_SERVICE, "storage-data-blob-service", "CKV_MLOPS_113",
             put(("deleteRetentionPolicy.enabled", False)), "StorageAccount: blob soft delete"),
    Mutation("azure-wrong-region", AZURE, STORAGE, "storage-models-account", "CKV_MLOPS_101",
             put(("location", "westeurope")), "residency.allowedRegions: resource outside the stack's regions"),
    Mutation("azure-missing-tag", AZURE, STORAGE, "storage-data-account", "CKV_MLOPS_102",
             without_tag("owner"), "required tags on every resource"),
    Mutation("azure-aks-no-encryption-at-host", AZURE, AKS_POOL, "aks-pool-gpua100", "CKV_MLOPS_104",
             put(("enableEncryptionAtHost", False)), "AksPool: encryption at host"),
    Mutation("azure-aks-gpu-taint-missing", AZURE, AKS_POOL, "aks-pool-gput4", "CKV_MLOPS_103",
             without_gpu_taint_azure, "AksPool: GPU pools carry components.gpu.GPU_TAINT"),
    Mutation("azure-aks-public-cluster", AZURE, AKS, "aks-cluster", "CKV_MLOPS_109",
             put(("apiServerAccessProfile.enablePrivateCluster", False)), "AksClusterArgs.public_api_server=True"),
    Mutation("azure-aks-local-accounts", AZURE, AKS, "aks-cluster", "CKV_AZURE_141",
             put(("disableLocalAccounts", False)), "AksCluster: local accounts disabled"),
    Mutation("azure-aks-no-entra-rbac", AZURE, AKS, "aks-cluster", "CKV_MLOPS_112",
             put(("aadProfile.enableAzureRBAC", False)), "AksCluster: Entra ID RBAC"),
    Mutation("azure-aks-no-network-policy", AZURE, AKS, "aks-cluster", "CKV_AZURE_7",
             drop("networkProfile.networkPolicy"), "AksClusterArgs.network_policy (calico)"),
    Mutation("azure-aks-no-rbac", AZURE, AKS, "aks-cluster", "CKV_AZURE_5", put(("enableRBAC", False)),
             "AksCluster: Kubernetes RBAC"),
    Mutation("azure-aks-no-monitoring", AZURE, AKS, "aks-cluster", "CKV_AZURE_4",
             put(("addonProfiles.omsagent.enabled", False)), "AksCluster: Container Insights to the workspace"),
    Mutation("azure-aks-public-network", AZURE, AKS, "aks-cluster", "CKV_MLOPS_121",
             put(("publicNetworkAccess", "Enabled")), "AksClusterArgs.public_api_server: public network access off"),
    Mutation("azure-aks-no-azure-policy", AZURE, AKS, "aks-cluster", "CKV_MLOPS_122",
             put(("addonProfiles.azurepolicy.enabled", False)), "AksCluster: Azure Policy add-on"),
    Mutation("azure-aks-node-public-ip", AZURE, AKS_POOL, "aks-pool-cpubatch", "CKV_MLOPS_118",
             put(("enableNodePublicIP", True)), "AksPool: nodes without public IPs"),
    Mutation("azure-storage-shared-key", AZURE, STORAGE, "storage-data-account", "CKV_MLOPS_120",
             put(("allowSharedKeyAccess", True)), "StorageAccount: Entra ID authorisation only"),
    Mutation("azure-keyvault-purge-protection-off", AZURE, VAULT, "keyvault-vault", "CKV_AZURE_110",
             put(("properties.enablePurgeProtection", False)), "KeyVault: purge protection"),
    Mutation("azure-keyvault-public", AZURE, VAULT, "keyvault-vault", "CKV_AZURE_109",
             put(("properties.publicNetworkAccess", "Enabled"), ("properties.networkAcls.defaultAction", "Allow")),
             "KeyVault: private endpoint only, firewall default Deny"),
    Mutation("azure-nsg-ssh-from-internet", AZURE, NSG, "foundation-nsg-aks-nodes", "CKV_AZURE_10",
             lambda inputs: inputs["securityRules"].insert(0, SSH_FROM_ANYWHERE),
             "Foundation: node subnet NSG denies inbound internet traffic"),
    Mutation("azure-keyvault-soft-delete-short", AZURE, VAULT, "keyvault-vault", "CKV_MLOPS_123",
             put(("properties.softDeleteRetentionInDays", 7)), "KeyVault: 90 days of soft delete"),
    Mutation("azure-keyvault-no-rbac", AZURE, VAULT, "keyvault-vault", "CKV_MLOPS_114",
             put(("properties.enableRbacAuthorization", False)), "KeyVault: RBAC authorisation"),
    Mutation("azure-key-rotation-off", AZURE, VAULT_KEY, "keyvault-cmk", "CKV_MLOPS_108",
             drop("properties.rotationPolicy"), "KeyVault: CMK rotation policy"),
    # --- Kubernetes workloads (components/services, onprem-dc1) ---
    Mutation("k8s-privileged-pod", ONPREM, DEPLOYMENT, "services-feast-server", "CKV_K8S_16",
             container(privileged=True), "workload hardening: never privileged"),
    Mutation("k8s-run-as-root", ONPREM, DEPLOYMENT, "services-feast-server", "CKV_MLOPS_201",
             container(runAsNonRoot=False, runAsUser=0), "workload hardening: runAsNonRoot"),
    Mutation("k8s-writable-root-fs", ONPREM, DEPLOYMENT, "services-feast-server", "CKV_MLOPS_202",
             container(readOnlyRootFilesystem=False), "workload hardening: read-only root file system"),
    Mutation("k8s-no-resource-limits", ONPREM, DEPLOYMENT, "services-feast-server", "CKV_MLOPS_203",
             without_limits, "workload hardening: resource limits"),
    Mutation("k8s-privilege-escalation", ONPREM, DEPLOYMENT, "services-feast-server", "CKV_K8S_20",
             container(allowPrivilegeEscalation=True), "workload hardening: no privilege escalation"),
    Mutation("k8s-capabilities-kept", ONPREM, DEPLOYMENT, "services-feast-server", "CKV_K8S_37",
             container(capabilities={}), "workload hardening: drop ALL capabilities"),
    Mutation("k8s-host-network", ONPREM, DEPLOYMENT, "services-feast-server", "CKV_K8S_19",
             pod(hostNetwork=True),
             "FeatureServer: pods stay off the host network"),
    Mutation("k8s-feature-server-public-lb", AWS, SERVICE, "services-feast-server", "CKV_MLOPS_204",
             put(("spec.type", "LoadBalancer")), "FeatureServer: ClusterIP only"),
    Mutation("k8s-kfp-api-public-lb", AZURE, SERVICE, "services-kfp-internal-lb", "CKV_MLOPS_204", None,
             "KubeflowPipelinesArgs.api_exposure=internal-load-balancer without its internal annotation (public)",
             add=lambda: kfp_api_load_balancer({}), baseline=(SERVICE, "services-feast-server")),
    Mutation("k8s-kserve-gateway-public-lb", ONPREM, SERVICE, "services-knative-kourier", "CKV_MLOPS_204", None,
             "KnativeServing without internal_only(): Kourier's upstream public gateway in front of KServe",
             add=kourier_gateway_upstream, baseline=(SERVICE, "services-feast-server")),
    # --- Services layer: feature store data (components/services) ---
    Mutation("aws-rds-unencrypted", AWS, RDS, "feast-data-registry", "CKV_AWS_16",
             put(("storageEncrypted", False)), "AwsFeatureData: registry storage encrypted with the CMK"),
    Mutation("aws-rds-public", AWS, RDS, "feast-data-registry", "CKV_AWS_17",
             put(("publiclyAccessible", True)), "AwsFeatureData: registry not publicly accessible"),
    Mutation("aws-rds-no-backup", AWS, RDS, "feast-data-registry", "CKV_AWS_133",
             put(("backupRetentionPeriod", 0)), "AwsFeatureData: 14 days of automated backups"),
    Mutation("aws-rds-no-iam-auth", AWS, RDS, "feast-data-registry", "CKV_AWS_161",
             put(("iamDatabaseAuthenticationEnabled", False)), "AwsFeatureData: IAM database authentication"),
    Mutation("aws-rds-no-deletion-protection", AWS, RDS, "feast-data-registry", "CKV_AWS_293",
             put(("deletionProtection", False)), "AwsFeatureData: registry deletion protection"),
    Mutation("aws-irsa-wildcard-policy", AWS, "aws:iam/rolePolicy:RolePolicy", "kfp-pipeline-runner-irsa", "CKV_AWS_63",
             put(("policy", json.dumps({"Version": "2012-10-17",
                                        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))),
             "IdentityBinding: pipeline runner grants name its buckets and actions only"),
    Mutation("aws-rds-single-az", AWS, RDS, "feast-data-registry", "CKV_AWS_157", put(("multiAz", False)),
             "AwsFeatureData: Multi-AZ registry"),
    Mutation("aws-rds-no-logs", AWS, RDS, "feast-data-registry", "CKV_AWS_129", drop("enabledCloudwatchLogsExports"),
             "AwsFeatureData: PostgreSQL logs to CloudWatch"),
    Mutation("aws-elasticache-no-auth", AWS, REDIS_AWS, "feast-data-online", "CKV_AWS_31", drop("authToken"),
             "AwsFeatureData: online store AUTH token"),
    Mutation("aws-elasticache-no-tls", AWS, REDIS_AWS, "feast-data-online", "CKV_AWS_30",
             put(("transitEncryptionEnabled", False)), "AwsFeatureData: online store TLS"),
    Mutation("aws-elasticache-unencrypted-at-rest", AWS, REDIS_AWS, "feast-data-online", "CKV_AWS_29",
             put(("atRestEncryptionEnabled", False)), "AwsFeatureData: online store encrypted at rest"),
    Mutation("azure-postgres-geo-backup", AZURE, POSTGRES, "feast-data-registry", "CKV_MLOPS_117",
             put(("backup.geoRedundantBackup", "Enabled")), "AzureFeatureDataArgs.geo_redundant_backup=True"),
    Mutation("azure-postgres-tls-optional", AZURE, POSTGRES_CONFIG, "feast-data-require-secure-transport",
             "CKV_MLOPS_116", put(("value", "off")), "AzureFeatureData: require_secure_transport on"),
    Mutation("azure-postgres-old-tls", AZURE, POSTGRES_CONFIG, "feast-data-ssl-min-protocol-version",
             "CKV_MLOPS_116", put(("value", "TLSv1.1")), "AzureFeatureData: TLS 1.2 minimum"),
    Mutation("azure-postgres-public", AZURE, POSTGRES, "feast-data-registry", "CKV_MLOPS_119",
             put(("network.publicNetworkAccess", "Enabled")), "AzureFeatureData: VNet-integrated registry only"),
    # --- Services layer: KFP metadata in managed MySQL (components/services) ---
    Mutation("aws-kfp-mysql-unencrypted", AWS, RDS, "kfp-metadata", "CKV_AWS_16",
             put(("storageEncrypted", False)), "AwsPipelineMetadata: storage encrypted with the CMK"),
    Mutation("aws-kfp-mysql-public", AWS, RDS, "kfp-metadata", "CKV_AWS_17",
             put(("publiclyAccessible", True)), "AwsPipelineMetadata: not publicly accessible"),
    Mutation("aws-kfp-mysql-tls-optional", AWS, RDS_PARAMETERS, "kfp-metadata", "CKV2_AWS_69",
             put(("parameters.0.value", "0")), "AwsPipelineMetadata: require_secure_transport=1",
             on=(RDS, "kfp-metadata")),
    Mutation("azure-kfp-mysql-system-key", AZURE, MYSQL, "kfp-metadata", "CKV_MLOPS_126",
             put(("dataEncryption", {"type": "SystemManaged"})), "AzurePipelineMetadata: data encrypted with the CMK"),
    Mutation("azure-kfp-mysql-public", AZURE, MYSQL, "kfp-metadata", "CKV_MLOPS_125",
             put(("network.publicNetworkAccess", "Enabled")), "AzurePipelineMetadata: VNet-integrated server only"),
    Mutation("azure-kfp-mysql-tls-optional", AZURE, MYSQL_CONFIG, "kfp-metadata-require-secure-transport",
             "CKV_MLOPS_124", put(("value", "OFF")), "AzurePipelineMetadata: require_secure_transport ON"),
    Mutation("azure-redis-non-ssl-port", AZURE, REDIS_AZURE, "feast-data-online", "CKV_MLOPS_115",
             put(("enableNonSslPort", True)), "AzureFeatureData: Redis TLS only"),
    Mutation("azure-redis-public", AZURE, REDIS_AZURE, "feast-data-online", "CKV_AZURE_89",
             put(("publicNetworkAccess", "Enabled")), "AzureFeatureDataArgs.redis_public_network_access=True"),
    Mutation("k8s-run-as-uid-0", ONPREM, DEPLOYMENT, "services-feast-server", "CKV_MLOPS_201",
             container(runAsUser=0), "workload hardening: a non-zero UID"),
    Mutation("k8s-host-pid", ONPREM, DEPLOYMENT, "services-feast-server", "CKV_K8S_17",
             pod(hostPID=True), "FeatureServer: no host PID namespace"),
    Mutation("k8s-no-liveness-probe", ONPREM, DEPLOYMENT, "services-feast-server", "CKV_K8S_8",
             lambda inputs: _container(inputs).pop("livenessProbe"), "FeatureServer: liveness probe"),
    Mutation("k8s-image-latest", ONPREM, DEPLOYMENT, "services-feast-server", "CKV_K8S_14",
             lambda inputs: _container(inputs).update(image="quay.io/feastdev/feature-server:latest"),
             "components.versions: images pinned by version"),
    Mutation("k8s-seccomp-removed", ONPREM, DEPLOYMENT, "services-feast-server", "CKV_K8S_31", without_seccomp,
             "workload hardening: RuntimeDefault seccomp profile"),
    # --- Training at scale (components/training, components/aws/karpenter.py) ---
    Mutation("training-quota-removed", ONPREM, RESOURCE_QUOTA, "training-quotas-ml", "CKV_MLOPS_205", None,
             "TeamQuotas: every team namespace has a ResourceQuota", on=KFP_NAMESPACE),
    Mutation("training-quota-unbounded-gpus", AWS, RESOURCE_QUOTA, "training-quotas-ml", "CKV_MLOPS_205",
             without_gpu_quota, "TeamQuota.hard: requests.nvidia.com/gpu bounded", on=KFP_NAMESPACE),
    Mutation("training-limit-range-removed", AZURE, LIMIT_RANGE, "training-quotas-ml", "CKV_MLOPS_205", None,
             "TeamQuotas: every team namespace has a LimitRange", on=KFP_NAMESPACE),
    Mutation("training-local-queue-removed", ONPREM, LOCAL_QUEUE, "training-kueue-local-queue-kubeflow",
             "CKV_MLOPS_206", None, "Kueue: the ml-training LocalQueue in every team namespace", on=KFP_NAMESPACE),
    Mutation("training-cluster-queue-removed", AZURE, CLUSTER_QUEUE, "training-kueue-cluster-queue",
             "CKV_MLOPS_206", None, "Kueue: the training ClusterQueue", on=KFP_NAMESPACE),
    Mutation("training-runtime-removed", AWS, TRAINING_RUNTIME, "training-trainer-torch-runtime", "CKV_MLOPS_207",
             None, "KubeflowTrainer: the torch-distributed ClusterTrainingRuntime", on=KFP_NAMESPACE),
    Mutation("aws-karpenter-node-pool-removed", AWS, NODE_POOL, "karpenter-nodepool-gpu-train", "CKV_MLOPS_011",
             None, "Karpenter: a NodePool per GPU pool", on=(NODE_GROUP, "pool-gpu-train")),
    Mutation("aws-karpenter-node-pool-untainted", AWS, NODE_POOL, "karpenter-nodepool-gpu-a10g", "CKV_MLOPS_011",
             without_gpu_taint_karpenter, "Karpenter NodePool: GPU pools carry components.gpu.GPU_TAINT",
             on=(NODE_GROUP, "pool-gpu-a10g")),
    Mutation("aws-karpenter-removed", AWS, HELM_RELEASE, "karpenter", "CKV_MLOPS_011", None,
             "aws target: Karpenter installed", on=(NODE_GROUP, "pool-gpu-a10g")),
    # --- NetworkPolicy enforcement and named egress (docs/security-network.md) ---
    Mutation("aws-vpc-cni-addon-removed", AWS, EKS_ADDON, "eks-vpc-cni", "CKV_MLOPS_301", None,
             "EksCluster: the vpc-cni add-on enforcing NetworkPolicy", on=(EKS, "eks")),
    Mutation("aws-vpc-cni-network-policy-off", AWS, EKS_ADDON, "eks-vpc-cni", "CKV_MLOPS_301",
             put(("configurationValues", '{"enableNetworkPolicy": "false"}')),
             "EksCluster: vpc-cni configurationValues enableNetworkPolicy", on=(EKS, "eks")),
    Mutation("azure-network-policy-none", AZURE, AKS, "aks-cluster", "CKV_MLOPS_302",
             put(("networkProfile.networkPolicy", "none")), "AksClusterArgs.network_policy: an enforcing engine"),
    Mutation("onprem-calico-removed", ONPREM, HELM_RELEASE, "calico", "CKV_MLOPS_305", None,
             "CalicoNetwork: the pinned tigera-operator chart", on=KFP_NAMESPACE),
    Mutation("onprem-calico-installation-removed", ONPREM, CALICO_INSTALLATION, "calico-installation",
             "CKV_MLOPS_305", None, "CalicoNetwork: the Calico Installation", on=KFP_NAMESPACE),
    Mutation("pipelines-egress-anywhere", AZURE, NETWORK_POLICY, "services-kfp-egress", "CKV_MLOPS_304",
             put(("spec.egress.0.to", [{"ipBlock": {"cidr": "0.0.0.0/0"}}])),
             "PlatformServices: pipeline egress to the API server by name, not 0.0.0.0/0"),
    Mutation("kueue-egress-any-destination", ONPREM, NETWORK_POLICY, "training-kueue-api-server", "CKV_MLOPS_304",
             drop("spec.egress.0.to"), "KueueArgs.api_server_egress: rules that name the API server"),
    Mutation("serving-default-deny-removed", AWS, NETWORK_POLICY, "baseline-ml-serving-default-deny",
             "CKV_MLOPS_303", None, "SecureNamespace: default deny", on=(NAMESPACE, "baseline-ml-serving")),
    # --- Release admission (components/security/admission.py, components/kubernetes/rbac.py) ---
    Mutation("release-admission-binding-removed", ONPREM, VAP_BINDING, "release-admission-isvc", "CKV_MLOPS_341",
             None, "ReleaseAdmission: the InferenceService policy is bound", on=SERVING_RUNTIME),
    Mutation("release-admission-audit-only", AWS, VAP_BINDING, "release-admission-isvc", "CKV_MLOPS_341",
             put(("spec.validationActions", ["Audit"])), "ReleaseAdmission: validationActions [Deny]",
             on=SERVING_RUNTIME),
    Mutation("release-admission-fails-open", AZURE, VAP, "release-admission-isvc", "CKV_MLOPS_341",
             put(("spec.failurePolicy", "Ignore")), "ReleaseAdmission: failurePolicy Fail", on=SERVING_RUNTIME),
    Mutation("release-admission-without-approvals", ONPREM, VAP_BINDING, "release-admission-isvc", "CKV_MLOPS_341",
             put(("spec.paramRef.parameterNotFoundAction", "Allow")),
             "ReleaseAdmission: a missing approvals ConfigMap denies", on=SERVING_RUNTIME),
    Mutation("ml-engineer-writes-inference-services", AZURE, CLUSTER_ROLE, "baseline-rbac-ml-engineer",
             "CKV_MLOPS_342", lambda inputs: inputs["rules"].append(
                 {"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "verbs": ["patch"]}),
             "PlatformRbac: ml-engineer reads KServe objects only"),
    Mutation("training-identity-deploys", AWS, ROLE_BINDING, "services-kserve-deployer", "CKV_MLOPS_342",
             put(("subjects.0.name", "pipeline-runner")),
             "KServeArgs.deployer_service_account: the deploy identity, not pipeline-runner",
             on=(ROLE, "services-kserve-deployer")),
    Mutation("k8s-wildcard-cluster-role", ONPREM, CLUSTER_ROLE, "baseline-rbac-data-scientist", "CKV_K8S_49",
             put(("rules", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])),
             "RBAC: least-privilege roles, never a wildcard copy of cluster-admin"),
    Mutation("aws-personal-data-no-expiry", AWS, S3_LIFECYCLE, "bucket-datasets", "CKV_MLOPS_381",
             drop("rules.0.expiration"), "SecureBucketArgs.expire_after_days=None", on=(S3, "bucket-datasets")),
    Mutation("aws-personal-data-lifecycle-removed", AWS, S3_LIFECYCLE, "bucket-pipeline-artifacts", "CKV_MLOPS_381",
             None, "SecureBucket: lifecycle configuration", on=(S3, "bucket-pipeline-artifacts")),
    Mutation("azure-personal-data-no-expiry", AZURE, MANAGEMENT_POLICY, "storage-data-lifecycle", "CKV_MLOPS_382",
             drop("policy.rules.1.definition.actions.baseBlob.delete"), "AzureBucketArgs.expire_after_days=None",
             on=(STORAGE, "storage-data-account")),
    Mutation("azure-personal-data-policy-removed", AZURE, MANAGEMENT_POLICY, "storage-artifacts-lifecycle",
             "CKV_MLOPS_382", None, "AzureStorage: lifecycle management policy",
             on=(STORAGE, "storage-artifacts-account")),
    Mutation("onprem-personal-data-no-expiry", ONPREM, HELM_RELEASE, "object-store", "CKV_MLOPS_383",
             without_minio_expiry("features"), "Bucket.expire_after_days=None (MinIO ilm rule)",
             on=(NAMESPACE, "object-store-ns")),
]
# fmt: on
MUTATIONS += [
    Mutation(
        "mesh-mtls-permissive",
        ONPREM,
        PEER_AUTHENTICATION,
        "mesh-strict-mtls",
        "CKV_MLOPS_321",
        put(("spec.mtls.mode", "PERMISSIVE")),
        "ServiceMesh: the mesh-wide PeerAuthentication is STRICT",
    ),
    Mutation(
        "mesh-root-policy-removed",
        AWS,
        PEER_AUTHENTICATION,
        "mesh-strict-mtls",
        "CKV_MLOPS_322",
        None,
        "ServiceMesh: a mesh-wide STRICT PeerAuthentication exists",
        on=(NAMESPACE, "baseline-feature-store"),
    ),
    Mutation(
        "mesh-ztunnel-removed",
        AZURE,
        HELM_RELEASE,
        "mesh-ztunnel",
        "CKV_MLOPS_322",
        None,
        "ServiceMesh: the pinned ztunnel chart is installed",
        on=(NAMESPACE, "baseline-ml-workspace"),
    ),
    Mutation(
        "mesh-namespace-unenrolled",
        ONPREM,
        NAMESPACE,
        "baseline-ml-serving",
        "CKV_MLOPS_322",
        lambda inputs: inputs["metadata"]["labels"].pop("istio.io/dataplane-mode"),
        "SecureNamespace: platform and team namespaces carry MESH_LABELS",
    ),
    Mutation(
        "authn-feature-server-policy-removed",
        AWS,
        AUTHORIZATION_POLICY,
        "mesh-authz-feature-store-feast-feature-server",
        "CKV_MLOPS_323",
        None,
        "ServiceMesh: the feature server admits only IdP tokens and named callers",
        on=(NAMESPACE, "baseline-feature-store"),
    ),
    Mutation(
        "authn-serving-jwt-removed",
        ONPREM,
        REQUEST_AUTHENTICATION,
        "mesh-jwt-ml-serving-waypoint",
        "CKV_MLOPS_323",
        None,
        "ServiceMesh: model endpoints validate the IdP's tokens",
        on=(NAMESPACE, "baseline-ml-serving"),
    ),
    Mutation(
        "authn-kfp-wildcard-caller",
        AZURE,
        AUTHORIZATION_POLICY,
        "mesh-authz-kubeflow-ml-pipeline",
        "CKV_MLOPS_323",
        put(("spec.rules.1.from.0.source.principals", ["*"])),
        "ServiceMesh: KFP's in-mesh callers are named ServiceAccounts",
        on=KFP_NAMESPACE,
    ),
]

# --- Threat detection and audit (docs/security-detection-and-audit.md) ---
GUARDDUTY_DETECTOR = "aws:guardduty/detector:Detector"
GUARDDUTY_FEATURE = "aws:guardduty/detectorFeature:DetectorFeature"
DEFENDER_PRICING = "azure-native:security:Pricing"
ACTIVITY_LOG = "azure-native:monitor:SubscriptionDiagnosticSetting"
REMOTE_COMMAND = "command:remote:Command"
CONTROL_PLANE_RUN = "dc1-k8s-ctl-01-run"
"""The node bootstrap's command on the first control-plane server of onprem-dc1."""


def bootstrap_env(**changes: str | None) -> Edit:
    """Change the MLOPS_* assignments of a node bootstrap command line (``None`` removes one), as a different
    rendering by components/bootstrap/render.py would."""
    import shlex

    def edit(inputs: dict[str, Any]) -> None:
        words = shlex.split(inputs["create"])
        start, end = words.index("env") + 1, words.index("bash")
        env = dict(word.split("=", 1) for word in words[start:end])
        for key, value in changes.items():
            if value is None:
                env.pop(key)
            else:
                env[key] = value
        assignments = [shlex.quote(f"{k}={v}") for k, v in env.items()]
        inputs["create"] = " ".join([*map(shlex.quote, words[:start]), *assignments, *map(shlex.quote, words[end:])])

    return edit


MUTATIONS += [
    Mutation(
        "aws-guardduty-removed",
        AWS,
        GUARDDUTY_DETECTOR,
        "threat-detection",
        "CKV_MLOPS_361",
        None,
        "ThreatDetection: the GuardDuty detector",
        on=(EKS, "eks"),
    ),
    Mutation(
        "aws-guardduty-eks-audit-logs-off",
        AWS,
        GUARDDUTY_FEATURE,
        "threat-detection-eks-audit-logs",
        "CKV_MLOPS_361",
        put(("status", "DISABLED")),
        "ThreatDetectionArgs.eks_audit_logs=False",
        on=(EKS, "eks"),
    ),
    Mutation(
        "aws-guardduty-agent-unmanaged",
        AWS,
        GUARDDUTY_FEATURE,
        "threat-detection-runtime-monitoring",
        "CKV_MLOPS_361",
        put(("additionalConfigurations.0.status", "DISABLED")),
        "ThreatDetection: GuardDuty manages its EKS runtime agent (EKS_ADDON_MANAGEMENT)",
        on=(EKS, "eks"),
    ),
    Mutation(
        "azure-defender-containers-free",
        AZURE,
        DEFENDER_PRICING,
        "threat-detection-defender-containers",
        "CKV_MLOPS_362",
        put(("pricingTier", "Free")),
        "AzureThreatDetection: the Containers plan at Standard",
        on=(AKS, "aks-cluster"),
    ),
    Mutation(
        "azure-defender-sensor-off",
        AZURE,
        DEFENDER_PRICING,
        "threat-detection-defender-containers",
        "CKV_MLOPS_362",
        put(("extensions.0.isEnabled", "False")),
        "AzureThreatDetectionArgs.extensions without ContainerSensor",
        on=(AKS, "aks-cluster"),
    ),
    Mutation(
        "azure-activity-log-removed",
        AZURE,
        ACTIVITY_LOG,
        "threat-detection-activity-log",
        "CKV_MLOPS_363",
        None,
        "AzureThreatDetection: the subscription's Activity Log export",
        on=(AKS, "aks-cluster"),
    ),
    Mutation(
        "azure-activity-log-without-security",
        AZURE,
        ACTIVITY_LOG,
        "threat-detection-activity-log",
        "CKV_MLOPS_363",
        drop("logs.1"),
        "AzureThreatDetectionArgs.activity_log_categories without Security",
        on=(AKS, "aks-cluster"),
    ),
    Mutation(
        "onprem-falco-removed",
        ONPREM,
        HELM_RELEASE,
        "falco",
        "CKV_MLOPS_364",
        None,
        "Falco: the pinned falco chart in the on-prem target",
        on=KFP_NAMESPACE,
    ),
    Mutation(
        "onprem-falco-driver-off",
        ONPREM,
        HELM_RELEASE,
        "falco",
        "CKV_MLOPS_364",
        put(("values.driver.enabled", False)),
        "falco_values(): a syscall driver",
        on=KFP_NAMESPACE,
    ),
    Mutation(
        "onprem-apiserver-without-oidc",
        ONPREM,
        REMOTE_COMMAND,
        CONTROL_PLANE_RUN,
        "CKV_MLOPS_365",
        bootstrap_env(MLOPS_APISERVER_AUTH_CONFIG=None),
        "render.node_env: a control-plane node's AuthenticationConfiguration",
        on=KFP_NAMESPACE,
    ),
    Mutation(
        "onprem-apiserver-without-audit-policy",
        ONPREM,
        REMOTE_COMMAND,
        CONTROL_PLANE_RUN,
        "CKV_MLOPS_365",
        bootstrap_env(MLOPS_APISERVER_AUDIT_POLICY=None),
        "render.node_env: the audit policy",
        on=KFP_NAMESPACE,
    ),
    Mutation(
        "onprem-apiserver-audit-log-unrotated",
        ONPREM,
        REMOTE_COMMAND,
        CONTROL_PLANE_RUN,
        "CKV_MLOPS_365",
        bootstrap_env(
            MLOPS_APISERVER_FLAGS="--authentication-config=/etc/kubernetes/mlops/authentication-config.yaml"
            " --audit-policy-file=/etc/kubernetes/mlops/audit-policy.yaml"
            " --audit-log-path=/var/log/kubernetes/audit/audit.log"
        ),
        "render.apiserver_flags: the audit log rotation flags",
        on=KFP_NAMESPACE,
    ),
]

# --- database and cache server certificates (components/services/db_tls.py, docs/security-database-tls.md) ---------
SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
DEPLOYMENT_PATCH = "kubernetes:apps/v1:DeploymentPatch"
FEAST_CONFIG = (SECRET, "services-feast-config")
TLS_ANNOTATION = "mlops.platform/connection-tls"


def connection_tls(section: str, key: str, value: str) -> Edit:
    """Set one TLS setting of the Feast configuration (what ``FeatureStoreBackends`` would render with it)."""

    def edit(inputs: dict[str, Any]) -> None:
        annotations = inputs["metadata"]["annotations"]
        tls = json.loads(annotations[TLS_ANNOTATION])
        tls[section][key] = value
        annotations[TLS_ANNOTATION] = json.dumps(tls, sort_keys=True)

    return edit


def unmount(volume: str) -> Edit:
    """The workload's first container without its mount of ``volume``."""

    def edit(inputs: dict[str, Any]) -> None:
        mounts = _container(inputs)["volumeMounts"]
        mounts[:] = [m for m in mounts if m["name"] != volume]

    return edit


def kfp_db_tls(value: str) -> Edit:
    return put(("spec.template.spec.containers.0.env.0.value", json.dumps({"tls": value})))


MUTATIONS += [
    Mutation(
        "db-tls-registry-require",
        AWS,
        *FEAST_CONFIG,
        "CKV_MLOPS_331",
        connection_tls("registry", "sslmode", "require"),
        "services: the Feast registry is reached with sslmode=verify-full (not require)",
    ),
    Mutation(
        "db-tls-registry-verify-ca",
        AZURE,
        *FEAST_CONFIG,
        "CKV_MLOPS_331",
        connection_tls("registry", "sslmode", "verify-ca"),
        "services: verify-ca does not check the server's name: verify-full",
    ),
    Mutation(
        "db-tls-registry-system-roots",
        AZURE,
        *FEAST_CONFIG,
        "CKV_MLOPS_331",
        connection_tls("registry", "sslrootcert", "system"),
        "services: the registry is verified against the pinned roots, not any public CA",
    ),
    Mutation(
        "db-tls-redis-skip-verify",
        AWS,
        *FEAST_CONFIG,
        "CKV_MLOPS_332",
        connection_tls("online_store", "ssl_cert_reqs", "none"),
        "OnlineRedis: ssl_cert_reqs=required",
    ),
    Mutation(
        "db-tls-redis-no-hostname",
        ONPREM,
        *FEAST_CONFIG,
        "CKV_MLOPS_332",
        connection_tls("online_store", "ssl_check_hostname", "false"),
        "OnlineRedis: ssl_check_hostname=true",
    ),
    Mutation(
        "db-tls-rds-ca-removed",
        AWS,
        CONFIG_MAP,
        "services-db-ca-feature-store",
        "CKV_MLOPS_331",
        None,
        "db_tls: the RDS CA bundle ConfigMap the feature server mounts",
        on=(DEPLOYMENT, "services-feast-server"),
    ),
    Mutation(
        "db-tls-ca-unmounted",
        AZURE,
        DEPLOYMENT,
        "services-feast-server",
        "CKV_MLOPS_332",
        unmount("db-ca"),
        "FeatureServer: mounts the CA bundle (ca_config_map)",
    ),
    Mutation(
        "db-tls-onprem-ca-unmounted",
        ONPREM,
        DEPLOYMENT,
        "services-feast-server",
        "CKV_MLOPS_331",
        unmount("ca"),
        "FeatureServer: mounts the issuer's CA (ca_secret)",
    ),
    Mutation(
        "db-tls-kfp-skip-verify",
        AWS,
        DEPLOYMENT_PATCH,
        "services-kfp-api-server-db-tls",
        "CKV_MLOPS_331",
        kfp_db_tls("skip-verify"),
        "MetadataDatabase: tls=true (was skip-verify on AWS)",
        baseline=FEAST_CONFIG,
    ),
]

"""The one place where the upstream software the platform deploys is pinned: Helm charts, manifests, images.

Every chart a component installs is named here with an exact version (never a range, never "latest"), so an
upgrade is one reviewed line in one file, and the policy gate and tests can check what is deployed against it.
Images are pinned by tag and, where the digest has been verified against the registry, by digest too: set
``digest`` only to a value read from the registry (``crane digest IMAGE:TAG``), never a guessed one.

Other layers (Kubeflow Pipelines, KServe, Feast, ...) add their pins here. Imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HelmChart:
    """A Helm chart at an exact version in a named repository."""

    name: str
    repository: str
    version: str


@dataclass(frozen=True)
class Image:
    """A container image at an exact tag; ``digest`` (``sha256:...``) when verified against the registry."""

    repository: str
    tag: str
    digest: str | None = None

    @property
    def reference(self) -> str:
        """What a pod spec names: ``repo:tag@sha256:...`` when the digest is known, else ``repo:tag``."""
        return f"{self.repository}:{self.tag}" + (f"@{self.digest}" if self.digest else "")


# --- NVIDIA GPU Operator: device plugin, container toolkit, DCGM exporter, node feature discovery, driver ----------
GPU_OPERATOR = HelmChart(name="gpu-operator", repository="https://helm.ngc.nvidia.com/nvidia", version="v25.10.1")

# --- MinIO: the on-prem S3-compatible object store (community chart, final release of charts.min.io) -------------
MINIO = HelmChart(name="minio", repository="https://charts.min.io/", version="5.4.0")
MINIO_SERVER_IMAGE = Image(repository="quay.io/minio/minio", tag="RELEASE.2024-12-18T13-15-44Z")
"""The server release chart 5.4.0 was cut for (its appVersion)."""
MINIO_CLIENT_IMAGE = Image(repository="quay.io/minio/mc", tag="RELEASE.2024-11-21T17-21-54Z")
"""The ``mc`` release chart 5.4.0 runs its bucket/encryption post-install job with."""


# --- Platform services (components/services) -------------------------------------------------------------------
@dataclass(frozen=True)
class Manifests:
    """A kustomization in an upstream git repository at an exact tag, fetched by kustomize at deploy time."""

    repository: str
    path: str
    ref: str

    @property
    def url(self) -> str:
        """Remote kustomize target as upstream documents it: ``github.com/org/repo/path?ref=TAG``."""
        return f"{self.repository}/{self.path}?ref={self.ref}"


KFP_VERSION = "2.5.0"
"""Kubeflow Pipelines backend release (API server, UI, launcher/driver); runs pipelines compiled by the kfp 2.x SDK."""
KFP_CLUSTER_RESOURCES = Manifests(
    repository="github.com/kubeflow/pipelines",
    path="manifests/kustomize/cluster-scoped-resources",
    ref=KFP_VERSION,
)
"""KFP's CRDs, cluster roles and the Argo Workflows CRDs: applied before the namespaced install."""
KFP_PLATFORM = Manifests(
    repository="github.com/kubeflow/pipelines",
    path="manifests/kustomize/env/platform-agnostic",
    ref=KFP_VERSION,
)
"""KFP's namespaced install (standalone, single-user; the components of this project reconfigure its storage)."""

KSERVE_VERSION = "v0.15.2"
KSERVE_CRD = HelmChart(name="kserve-crd", repository="oci://ghcr.io/kserve/charts", version=KSERVE_VERSION)
KSERVE = HelmChart(name="kserve", repository="oci://ghcr.io/kserve/charts", version=KSERVE_VERSION)
PROJECT_VERSION = "0.1.0"
"""This project's release (``pyproject.toml``; a test keeps them equal): the tag of the images it builds."""
MODEL_SERVER_REPOSITORY = "ghcr.io/mlops-platform/model-server"
"""Documented default repository of the model-server image (``pipelines/serving/Dockerfile``); a stack sets its own
registry mirror with ``mlops:modelServerRepository``."""
MODEL_SERVER_IMAGE = Image(repository=MODEL_SERVER_REPOSITORY, tag=PROJECT_VERSION)
"""The ServingRuntime ``mlops-credit-risk-oip``: ``python -m pipelines.serving.runtime`` (OIP v2, one model version),
built from this repository at the project's version."""


@dataclass(frozen=True)
class ReleaseAsset:
    """A manifest file attached to an upstream GitHub release at an exact tag (applied at deploy time)."""

    repository: str
    tag: str
    asset: str

    @property
    def url(self) -> str:
        return f"https://github.com/{self.repository}/releases/download/{self.tag}/{self.asset}"


KNATIVE_SERVING_VERSION = "knative-v1.15.2"
"""Knative Serving for KServe's Serverless mode (canary traffic): KServe v0.15 is tested against Knative 1.15
(upstream's quick-install pins the same minor)."""
KNATIVE_KOURIER_VERSION = "knative-v1.15.1"
"""Kourier, the networking layer (Envoy) of the same Knative minor."""
KNATIVE_SERVING_CRDS = ReleaseAsset("knative/serving", KNATIVE_SERVING_VERSION, "serving-crds.yaml")
KNATIVE_SERVING_CORE = ReleaseAsset("knative/serving", KNATIVE_SERVING_VERSION, "serving-core.yaml")
KNATIVE_KOURIER = ReleaseAsset("knative/net-kourier", KNATIVE_KOURIER_VERSION, "kourier.yaml")

FEAST_FEATURE_SERVER_IMAGE = Image(repository="quay.io/feastdev/feature-server", tag="0.67.0")
"""Feast's feature server, the same release as the ``feast`` SDK the pipelines and tests use (keep them equal)."""

POSTGRESQL = HelmChart(name="postgresql", repository="oci://registry-1.docker.io/bitnamicharts", version="16.4.6")
"""On-prem only: the Feast registry's PostgreSQL (clouds use their managed services)."""
REDIS = HelmChart(name="redis", repository="oci://registry-1.docker.io/bitnamicharts", version="20.6.2")
"""On-prem only: the Feast online store's Redis (clouds use their managed services)."""

RDS_POSTGRES_ENGINE = "16"
"""AWS RDS for PostgreSQL major version; RDS applies minor (security) releases itself, so only the major is pinned
(a pinned minor would fight those upgrades)."""
RDS_POSTGRES_FAMILY = "postgres16"
ELASTICACHE_REDIS_ENGINE = "7.1"
"""ElastiCache applies patch releases within it automatically."""
ELASTICACHE_REDIS_FAMILY = "redis7"
AZURE_POSTGRES_VERSION = "16"
RDS_MYSQL_ENGINE = "8.0"
"""RDS for MySQL major version holding KFP's metadata (KFP 2.5 speaks MySQL only); minors applied by RDS."""
RDS_MYSQL_FAMILY = "mysql8.0"
AZURE_MYSQL_VERSION = "8.0.21"
"""Azure Database for MySQL flexible server version for KFP's metadata (the service's name for MySQL 8.0)."""

# --- Training at scale (components/training, components/aws/karpenter.py): Trainer, Katib, Kueue, Karpenter ---------
TRAINER_VERSION = "v2.1.0"
"""Kubeflow Trainer v2 (TrainJob, ClusterTrainingRuntime; JobSet bundled): the release its installation guide names."""
TRAINER_MANAGER = Manifests(
    repository="github.com/kubeflow/trainer",
    path="manifests/overlays/manager",
    ref=TRAINER_VERSION,
)
"""Trainer's CRDs, controller manager, webhook and JobSet, in its own ``kubeflow-system`` namespace."""
TRAINER_TORCH_IMAGE = Image(repository="pytorch/pytorch", tag="2.7.1-cuda12.6-cudnn9-runtime")
"""Default image of the ``torch-distributed`` ClusterTrainingRuntime (the one upstream's torch runtime ships); a
TrainJob names its own training image."""
KATIB_VERSION = "v0.18.0"
KATIB = Manifests(
    repository="github.com/kubeflow/katib",
    path="manifests/v1beta1/installs/katib-standalone",
    ref=KATIB_VERSION,
)
"""Katib standalone (controller, DB manager, MySQL, UI, webhooks) in the ``kubeflow`` namespace."""
KUEUE = HelmChart(name="kueue", repository="oci://registry.k8s.io/kueue/charts", version="0.14.4")
"""Kueue: queueing, quotas and fair sharing for TrainJobs and batch Jobs (APIs and config ``v1beta1``)."""
KARPENTER = HelmChart(name="karpenter", repository="oci://public.ecr.aws/karpenter", version="1.9.0")
"""AWS only: Karpenter (CRDs included), v1.9 LTS; provisions the GPU pools' nodes on demand."""
KARPENTER_AMI_ALIAS = "al2023@latest"
"""EKS-optimised AL2023 (NVIDIA variant picked for GPU instance types), the same release the managed node groups take
at creation; pin ``al2023@vYYYYMMDD`` to hold a release."""

# --- Service mesh (components/security/mesh.py): Istio in ambient mode, mTLS between every platform pod ----------
ISTIO_VERSION = "1.27.1"
ISTIO_REPOSITORY = "https://istio-release.storage.googleapis.com/charts"
ISTIO_BASE = HelmChart(name="base", repository=ISTIO_REPOSITORY, version=ISTIO_VERSION)
"""Istio's CRDs (PeerAuthentication, RequestAuthentication, AuthorizationPolicy, ...)."""
ISTIOD = HelmChart(name="istiod", repository=ISTIO_REPOSITORY, version=ISTIO_VERSION)
ISTIO_CNI = HelmChart(name="cni", repository=ISTIO_REPOSITORY, version=ISTIO_VERSION)
"""The node agent that redirects an enrolled pod's traffic to ztunnel (in-pod redirection)."""
ZTUNNEL = HelmChart(name="ztunnel", repository=ISTIO_REPOSITORY, version=ISTIO_VERSION)
"""The per-node L4 proxy: HBONE mTLS (port 15008) between enrolled pods with SPIFFE identities."""
GATEWAY_API_CRDS = ReleaseAsset("kubernetes-sigs/gateway-api", "v1.3.0", "standard-install.yaml")
"""Gateway API CRDs (standard channel) that Istio 1.27 supports: waypoint proxies are ``Gateway`` objects."""

# --- NetworkPolicy enforcement (docs/security-network.md) ----------------------------------------------------------
EKS_VPC_CNI_ADDON = "v1.20.1-eksbuild.3"
"""AWS: the ``vpc-cni`` EKS managed add-on (its network policy agent enforces NetworkPolicy, on from v1.14); a
version EKS lists for the cluster's Kubernetes minor (``aws eks describe-addon-versions --addon-name vpc-cni``)."""
CALICO = HelmChart(name="tigera-operator", repository="https://docs.tigera.io/calico/charts", version="v3.30.3")
"""On-prem: Calico through the Tigera operator, the cluster's CNI and NetworkPolicy engine (the node bootstrap
installs no CNI)."""

# --- Runtime threat detection (docs/security-detection-and-audit.md) ------------------------------------------------
FALCO = HelmChart(name="falco", repository="https://falcosecurity.github.io/charts", version="6.2.5")
"""On-prem: Falco, runtime threat detection on every node (modern eBPF probe, no kernel module). The clouds use their
providers' services (GuardDuty EKS runtime monitoring, Defender for Containers)."""

CHARTS: tuple[HelmChart, ...] = (
    GPU_OPERATOR,
    MINIO,
    KSERVE_CRD,
    KSERVE,
    POSTGRESQL,
    REDIS,
    KUEUE,
    KARPENTER,
    ISTIO_BASE,
    ISTIOD,
    ISTIO_CNI,
    ZTUNNEL,
    CALICO,
    FALCO,
)
"""Every chart pinned here; tests check each is an exact version."""

IMAGES: tuple[Image, ...] = (
    MINIO_SERVER_IMAGE,
    MINIO_CLIENT_IMAGE,
    MODEL_SERVER_IMAGE,
    FEAST_FEATURE_SERVER_IMAGE,
    TRAINER_TORCH_IMAGE,
)

"""Every image pinned here beyond a chart's own defaults."""

MANIFESTS: tuple[Manifests, ...] = (KFP_CLUSTER_RESOURCES, KFP_PLATFORM, TRAINER_MANAGER, KATIB)
"""Every upstream kustomization pinned here."""

RELEASE_ASSETS: tuple[ReleaseAsset, ...] = (
    KNATIVE_SERVING_CRDS,
    KNATIVE_SERVING_CORE,
    KNATIVE_KOURIER,
    GATEWAY_API_CRDS,
)
"""Every upstream release manifest pinned here."""


# --- Training (pipelines/ml/Dockerfile): the image every rank of a Kubeflow Trainer TrainJob runs -------------------
TRAINING_REPOSITORY = "ghcr.io/mlops-platform/trainer"
"""Documented default repository of the training image; mirror it into the cluster's registry."""
TRAINING_IMAGE = Image(repository=TRAINING_REPOSITORY, tag=PROJECT_VERSION)
"""``torchrun -m pipelines.ml.ddp_worker SPEC`` on every node of a TrainJob: torch 2.13.0 (CUDA build, NCCL) and this
repository's ``pipelines/`` at the project's version."""

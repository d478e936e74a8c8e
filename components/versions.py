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

CHARTS: tuple[HelmChart, ...] = (GPU_OPERATOR, MINIO)
"""Every chart pinned here; tests check each is an exact version."""

IMAGES: tuple[Image, ...] = (MINIO_SERVER_IMAGE, MINIO_CLIENT_IMAGE)
"""Every image pinned here beyond a chart's own defaults."""

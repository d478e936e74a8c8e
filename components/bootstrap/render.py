"""What the bootstrap script is told about one node: pure functions shared by the component and the tests.

The Pulumi component (:mod:`components.bootstrap.node_bootstrap`), the loopback CI test
(``tests/components/bootstrap``) and the acceptance suite (``tests/acceptance/nodes``) all derive a node's environment,
labels and taints from here, so what is sent, what is tested and what is asserted on a real node cannot drift apart.
Imports nothing heavy.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from components.onprem.gpu_pools import NodePoolSpec

SCRIPT = Path(__file__).parent / "scripts" / "bootstrap.sh"
"""The one bootstrap script, sent as-is to every node."""

REMOTE_SCRIPT = ".mlops-bootstrap/bootstrap.sh"
"""Where the script lands on the node, relative to the SSH user's home (not a world-writable /tmp)."""

NVIDIA_TOOLKIT_PACKAGES = (
    "nvidia-container-toolkit",
    "nvidia-container-toolkit-base",
    "libnvidia-container-tools",
    "libnvidia-container1",
)
"""Pinned together, as NVIDIA's install guide does: apt would otherwise pull the newest libraries."""

KUBERNETES_PACKAGES = ("kubelet", "kubeadm", "kubectl")


def script_sha256() -> str:
    """Hash of the script's bytes: a changed script re-runs the bootstrap on every node."""
    return hashlib.sha256(SCRIPT.read_bytes()).hexdigest()


@dataclass(frozen=True)
class NodePlan:
    """One server to bootstrap, with the marks it must carry (from :func:`components.onprem.gpu_pools.node_marking`)."""

    name: str
    address: str
    ssh_user: str
    pool: str
    gpu: bool
    gpu_count: int | None
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, str]] = field(default_factory=list)
    ssh_host_key: str | None = None


@dataclass(frozen=True)
class AptSource:
    """One apt repository the node installs pinned packages from (an internal mirror of the vendor repo)."""

    uri: str
    suite: str
    components: Sequence[str] = ()
    signed_by: str | None = None
    """Keyring on the node signing the repository; None: trusted without a signature."""


@dataclass(frozen=True)
class BootstrapSettings:
    """How nodes are set up and joined: pinned apt sources and versions, the join endpoint and CA hashes."""

    apt_repositories: Sequence[AptSource]
    containerd_version: str
    kubernetes_package_version: str
    nvidia_container_toolkit_version: str
    api_server_endpoint: str
    ca_cert_hashes: Sequence[str]
    containerd_package: str = "containerd.io"
    pause_image: str = "registry.k8s.io/pause:3.10"


def node_plans(pools: Sequence[NodePoolSpec]) -> list[NodePlan]:
    """Every server of every pool that has an SSH address, in stack order."""
    from components.onprem.gpu_pools import node_marking

    plans = []
    for pool in pools:
        for node in pool.nodes:
            if not node.address:
                continue
            labels, taints = node_marking(pool, node)
            plans.append(
                NodePlan(
                    name=node.name,
                    address=node.address,
                    ssh_user=node.ssh_user,
                    pool=pool.name,
                    gpu=pool.kind == "gpu",
                    gpu_count=(node.gpu_count or pool.gpu_count) if pool.kind == "gpu" else None,
                    labels=labels,
                    taints=taints,
                    ssh_host_key=node.ssh_host_key,
                )
            )
    return plans


def label_flag(labels: dict[str, str]) -> str:
    """The kubelet's ``--node-labels`` value."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def taint_flag(taints: list[dict[str, str]]) -> str:
    """The kubelet's ``--register-with-taints`` value."""
    return ",".join(f"{t['key']}={t.get('value', '')}:{t['effect']}" for t in taints)


def apt_sources(settings: BootstrapSettings) -> str:
    """Content of /etc/apt/sources.list.d/mlops.list: one line per configured repository."""
    lines = []
    for repo in settings.apt_repositories:
        option = f"signed-by={repo.signed_by}" if repo.signed_by else "trusted=yes"
        lines.append(" ".join(["deb", f"[{option}]", repo.uri, repo.suite, *repo.components]))
    return "\n".join(lines)


def packages(settings: BootstrapSettings, gpu: bool) -> list[str]:
    """``name=version`` for every package the node needs, all pinned."""
    specs = [f"{settings.containerd_package}={settings.containerd_version}"]
    specs += [f"{name}={settings.kubernetes_package_version}" for name in KUBERNETES_PACKAGES]
    if gpu:
        specs += [f"{name}={settings.nvidia_container_toolkit_version}" for name in NVIDIA_TOOLKIT_PACKAGES]
    return specs


def node_env(plan: NodePlan, settings: BootstrapSettings, *, require_driver: bool = True) -> dict[str, str]:
    """The script's MLOPS_* inputs for one node. Holds nothing secret: the join token goes over stdin."""
    return {
        "MLOPS_NODE_NAME": plan.name,
        "MLOPS_GPU": "1" if plan.gpu else "0",
        "MLOPS_REQUIRE_DRIVER": "1" if require_driver else "0",
        "MLOPS_NODE_LABELS": label_flag(plan.labels),
        "MLOPS_NODE_TAINTS": taint_flag(plan.taints),
        "MLOPS_APT_SOURCES": apt_sources(settings),
        "MLOPS_APT_KEYRINGS": " ".join(r.signed_by for r in settings.apt_repositories if r.signed_by),
        "MLOPS_PACKAGES": " ".join(packages(settings, plan.gpu)),
        "MLOPS_PAUSE_IMAGE": settings.pause_image,
        "MLOPS_API_SERVER_ENDPOINT": settings.api_server_endpoint,
        "MLOPS_CA_CERT_HASHES": " ".join(settings.ca_cert_hashes),
    }


def remote_command(env: dict[str, str], ssh_user: str, script: str = REMOTE_SCRIPT) -> str:
    """The shell command run over SSH: the script as root (``sudo -n`` unless the user is root) with ``env``."""
    assignments = " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())
    sudo = "" if ssh_user == "root" else "sudo -n "
    return f"{sudo}env {assignments} bash {shlex.quote(script)}"

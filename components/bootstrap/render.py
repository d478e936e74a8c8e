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
from typing import TYPE_CHECKING, Protocol

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

# --- kube-apiserver on control-plane nodes (docs/security-detection-and-audit.md) -----------------------------------
APISERVER_CONFIG_DIR = "/etc/kubernetes/mlops"
"""Where the script writes the authentication configuration and audit policy (mounted read-only into the API
server); the manifest's backups go to ``backup/`` below it, never into the kubelet's static-pod directory."""
AUTHENTICATION_CONFIG = f"{APISERVER_CONFIG_DIR}/authentication-config.yaml"
AUDIT_POLICY = f"{APISERVER_CONFIG_DIR}/audit-policy.yaml"
AUDIT_LOG_DIR = "/var/log/kubernetes/audit"
AUDIT_LOG = f"{AUDIT_LOG_DIR}/audit.log"
AUDIT_LOG_ROTATION = {"maxage": 30, "maxbackup": 10, "maxsize": 100}
"""Days kept, rotated files kept, MiB per file: at most about 1 GiB of audit log per control-plane node; a log
collector ships it off the node for the long-term record."""
PLATFORM_NAMESPACES = ("kubeflow", "ml-pipelines", "ml-serving", "feature-store", "mlops-system")
"""Where every write is recorded with its request and response (Secrets and ConfigMaps excepted)."""
AUDITED_WRITE_GROUPS = (
    "serving.kserve.io",
    "serving.knative.dev",
    "kubeflow.org",
    "pipelines.kubeflow.org",
    "trainer.kubeflow.org",
    "rbac.authorization.k8s.io",
    "admissionregistration.k8s.io",
    "security.istio.io",
    "networking.k8s.io",
)
"""API groups whose writes (model serving, pipelines, training, RBAC, admission, mesh and network policy) are
recorded with request and response bodies, cluster-wide."""
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")


class OidcIssuer(Protocol):
    """The enterprise IdP the API server trusts (the stack's ``identity.oidc``)."""

    issuer_url: str
    audience: str
    username_claim: str
    groups_claim: str


def authentication_api_version(kubernetes_version: str) -> str:
    """``apiserver.config.k8s.io`` version of AuthenticationConfiguration: v1 from 1.34, v1beta1 in 1.30-1.33."""
    major, minor = (int(p) for p in kubernetes_version.split(".")[:2])
    if (major, minor) < (1, 30):
        raise ValueError(f"kubernetes {kubernetes_version}: structured authentication needs 1.30 or later")
    return "apiserver.config.k8s.io/v1" if (major, minor) >= (1, 34) else "apiserver.config.k8s.io/v1beta1"


def authentication_config(oidc: OidcIssuer, kubernetes_version: str) -> dict:
    """The API server's AuthenticationConfiguration: one JWT authenticator, the enterprise IdP (``identity.oidc``).

    Usernames and groups come from the configured claims without a prefix, so the platform's RBAC bindings (the IdP
    group names of ``identity``) apply as written; validation rules refuse any identity in the reserved
    ``system:`` namespace, and an ``email`` username must not be marked unverified."""
    claim_rules = []
    if oidc.username_claim == "email":
        claim_rules.append(
            {
                "expression": "claims.?email_verified.orValue(true) == true",
                "message": "the IdP marks this email as unverified",
            }
        )
    jwt: dict = {
        "issuer": {"url": oidc.issuer_url, "audiences": [oidc.audience]},
        "claimMappings": {
            "username": {"claim": oidc.username_claim, "prefix": ""},
            "groups": {"claim": oidc.groups_claim, "prefix": ""},
        },
        "userValidationRules": [
            {
                "expression": "!user.username.startsWith('system:')",
                "message": "IdP usernames must not use the reserved system: prefix",
            },
            {
                "expression": "user.groups.all(group, !group.startsWith('system:'))",
                "message": "IdP groups must not use the reserved system: prefix",
            },
        ],
    }
    if claim_rules:
        jwt["claimValidationRules"] = claim_rules
    return {
        "apiVersion": authentication_api_version(kubernetes_version),
        "kind": "AuthenticationConfiguration",
        "jwt": [jwt],
    }


def audit_policy() -> dict:
    """The API server's audit policy (``audit.k8s.io/v1``); the first matching rule decides.

    1. ``None`` for noisy reads that say nothing about who did what: health and version endpoints, events, the
       system components' watches and lease/endpoint renewals.
    2. ``Metadata`` only for Secrets, ConfigMaps, tokens and token reviews, whatever the verb: their bodies hold
       credentials and must never reach the log.
    3. ``RequestResponse`` for writes to model serving, pipelines, training, RBAC, admission, mesh and network
       policy objects (cluster-wide) and for every write in the platform's namespaces.
    4. ``Metadata`` for everything else (who, what, when, from where, the response code)."""
    return {
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Policy",
        "omitStages": ["RequestReceived"],
        "rules": [
            {
                "level": "None",
                "nonResourceURLs": ["/healthz*", "/livez*", "/readyz*", "/version", "/metrics", "/openapi*"],
            },
            {
                "level": "None",
                "resources": [
                    {"group": "", "resources": ["events"]},
                    {"group": "events.k8s.io", "resources": ["events"]},
                ],
            },
            {"level": "None", "userGroups": ["system:nodes"], "verbs": ["get", "list", "watch"]},
            {
                "level": "None",
                "users": ["system:kube-proxy", "system:kube-scheduler", "system:kube-controller-manager"],
                "verbs": ["get", "list", "watch"],
            },
            {
                "level": "None",
                "verbs": ["get", "update"],
                "namespaces": ["kube-system", "kube-node-lease"],
                "resources": [{"group": "coordination.k8s.io", "resources": ["leases"]}],
            },
            {
                "level": "Metadata",
                "resources": [
                    {"group": "", "resources": ["secrets", "configmaps", "serviceaccounts/token"]},
                    {"group": "authentication.k8s.io", "resources": ["tokenreviews"]},
                ],
            },
            {
                "level": "RequestResponse",
                "verbs": list(WRITE_VERBS),
                "resources": [{"group": group} for group in AUDITED_WRITE_GROUPS],
            },
            {"level": "RequestResponse", "verbs": list(WRITE_VERBS), "namespaces": list(PLATFORM_NAMESPACES)},
            {"level": "Metadata"},
        ],
    }


def apiserver_flags() -> list[str]:
    """The kube-apiserver flags the script sets (it drops any ``--oidc-*`` flag: they exclude
    ``--authentication-config``)."""
    rotation = [f"--audit-log-{key}={value}" for key, value in AUDIT_LOG_ROTATION.items()]
    return [
        f"--authentication-config={AUTHENTICATION_CONFIG}",
        f"--audit-policy-file={AUDIT_POLICY}",
        f"--audit-log-path={AUDIT_LOG}",
        *rotation,
    ]


@dataclass(frozen=True)
class ApiServerPlan:
    """What a control-plane node's kube-apiserver is given: two files and its flags."""

    authentication_config: str
    audit_policy: str
    flags: tuple[str, ...]


def apiserver_plan(oidc: OidcIssuer, kubernetes_version: str) -> ApiServerPlan:
    import yaml

    def dump(doc: dict) -> str:
        return (
            "# Managed by mlops-bootstrap (components/bootstrap/render.py); local changes are overwritten.\n"
            + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False).rstrip("\n")
        )

    return ApiServerPlan(
        authentication_config=dump(authentication_config(oidc, kubernetes_version)),
        audit_policy=dump(audit_policy()),
        flags=tuple(apiserver_flags()),
    )


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
    apiserver: ApiServerPlan | None = None
    """Control-plane nodes: how their kube-apiserver is configured; ``None`` on workers."""


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


def node_plans(pools: Sequence[NodePoolSpec], apiserver: ApiServerPlan | None = None) -> list[NodePlan]:
    """Every server of every pool that has an SSH address, in stack order; control-plane servers get ``apiserver``."""
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
                    apiserver=apiserver if node.control_plane else None,
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
    env = {
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
        "MLOPS_CONTROL_PLANE": "1" if plan.apiserver else "0",
    }
    if plan.apiserver:
        env["MLOPS_APISERVER_AUTH_CONFIG"] = plan.apiserver.authentication_config
        env["MLOPS_APISERVER_AUDIT_POLICY"] = plan.apiserver.audit_policy
        env["MLOPS_APISERVER_FLAGS"] = " ".join(plan.apiserver.flags)
    return env


def remote_command(env: dict[str, str], ssh_user: str, script: str = REMOTE_SCRIPT) -> str:
    """The shell command run over SSH: the script as root (``sudo -n`` unless the user is root) with ``env``."""
    assignments = " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())
    sudo = "" if ssh_user == "root" else "sudo -n "
    return f"{sudo}env {assignments} bash {shlex.quote(script)}"

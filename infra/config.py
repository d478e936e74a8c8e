"""Typed stack configuration: one schema for every stack, read from the stack's Pulumi config.

Keys live in the project namespace (``mlops:<key>``) of ``stacks/Pulumi.<stack>.yaml``. YAML keys are
camelCase; Python fields are snake_case. Every rule here turns bad config into one :class:`ConfigError`
that names the stack file, the key path, the value and what is allowed, before any resource exists.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from policies.organisation import (  # the organisation's facts: owned by policies, which must not import infra
    DEFAULT_TEAM,
    PROJECT,
    REQUIRED_TAGS,
    RESIDENCY_POLICY,
    ConfigError,
    organisation_regions,
    stack_file,
)

DATA_CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")
RESIDENCY_KEY = f"{PROJECT}:residency.allowedRegions"
SECRET_KEYS = ("kubeconfig", "nodeSshPrivateKey", "clusterJoinToken")
"""Config keys that must be Pulumi secrets (``secure:`` in the stack file), never plaintext."""

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$")


def __getattr__(name: str) -> Any:
    # ``DEFAULT_ALLOWED_REGIONS`` is the organisation policy, read lazily so a broken policy file is reported as a
    # ConfigError where it is used, not as an import failure.
    if name == "DEFAULT_ALLOWED_REGIONS":
        return organisation_regions()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class SecretValue:
    """A config value that is a Pulumi secret. ``value`` is whatever the runtime gave (an Output)."""

    def __init__(self, key: str, value: Any = None) -> None:
        self.key = key
        self.value = value

    def __repr__(self) -> str:  # never print the secret itself
        return f"SecretValue({self.key!r})"


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, arbitrary_types_allowed=True
    )


Cidr = Annotated[str, Field(description="IPv4 CIDR block, e.g. 10.20.0.0/16")]


def _check_dns_label(value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise ValueError("must be a lowercase DNS label of 1-32 characters (a-z, 0-9, '-'), starting with a letter")
    return value


DnsLabel = Annotated[str, AfterValidator(_check_dns_label)]
"""A name that becomes part of cloud and Kubernetes resource names: a lowercase DNS label of 1-32 characters."""


def _check_cidr(value: str) -> str:
    try:
        return str(ipaddress.IPv4Network(value, strict=True))
    except ValueError as exc:
        raise ValueError(f"not an IPv4 CIDR block ({exc})") from None


class Taint(_Model):
    key: str
    value: str = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class OnPremNode(_Model):
    """An existing server in the on-prem cluster. ``address``/``ssh_user`` are used to bootstrap it over SSH."""

    name: str
    address: str | None = None
    ssh_user: str = "mlops"
    ssh_host_key: str | None = Field(
        default=None, description="the server's SSH public host key (ssh-ed25519 AAAA...); the bootstrap verifies it"
    )
    gpu_count: int | None = Field(default=None, ge=1, le=16)
    control_plane: bool = Field(
        default=False,
        description="a kubeadm control-plane node: the bootstrap configures its kube-apiserver (OIDC authentication "
        "from identity.oidc, the audit policy and audit log)",
    )


class NodePool(_Model):
    name: DnsLabel
    kind: Literal["cpu", "gpu"]
    role: Literal["system", "workload"] = "workload"
    gpu_model: str | None = Field(default=None, description="e.g. nvidia-a100, nvidia-h100, nvidia-t4")
    gpu_count: int | None = Field(default=None, ge=1, le=16, description="GPUs per node")
    instance_type: str | None = Field(default=None, description="AWS instance type or Azure VM size")
    min_size: int = Field(default=1, ge=0, le=1000)
    max_size: int = Field(default=3, ge=1, le=1000)
    desired_size: int | None = Field(default=None, ge=0, le=1000)
    capacity: Literal["on-demand", "spot"] = "on-demand"
    disk_size_gb: int = Field(default=100, ge=30, le=4096)
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)
    nodes: list[OnPremNode] = Field(default_factory=list, description="on-prem only: the servers of this pool")

    @model_validator(mode="after")
    def _consistent(self) -> NodePool:
        if self.kind == "gpu":
            if not self.gpu_model:
                raise ValueError("gpuModel is required for a GPU pool")
            if not self.gpu_count:
                raise ValueError("gpuCount is required for a GPU pool")
            if self.role == "system":
                raise ValueError("a GPU pool cannot be the system pool")
        elif self.gpu_model or self.gpu_count:
            raise ValueError("gpuModel/gpuCount are only allowed on a GPU pool (kind: gpu)")
        if self.min_size > self.max_size:
            raise ValueError(f"minSize ({self.min_size}) is larger than maxSize ({self.max_size})")
        desired = self.desired
        if not self.min_size <= desired <= self.max_size:
            raise ValueError(f"desiredSize ({desired}) must lie between minSize and maxSize")
        return self

    @property
    def desired(self) -> int:
        return self.min_size if self.desired_size is None else self.desired_size


class Network(_Model):
    cidr: Cidr
    private_subnets: list[Cidr] = Field(min_length=2, description="one per availability zone, at least two")
    availability_zones: list[str] = Field(default_factory=list, description="AWS only; default <region>a, b, c")
    service_cidr: Cidr = "172.20.0.0/16"
    dns_service_ip: str = "172.20.0.10"

    @field_validator("cidr", "service_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        return _check_cidr(value)

    @field_validator("private_subnets")
    @classmethod
    def _subnets(cls, value: list[str]) -> list[str]:
        return [_check_cidr(v) for v in value]

    @model_validator(mode="after")
    def _subnets_inside(self) -> Network:
        outer = ipaddress.IPv4Network(self.cidr)
        nets = [ipaddress.IPv4Network(s) for s in self.private_subnets]
        for net in nets:
            if not net.subnet_of(outer):
                raise ValueError(f"private subnet {net} is not inside network cidr {outer}")
        for i, a in enumerate(nets):
            for b in nets[i + 1 :]:
                if a.overlaps(b):
                    raise ValueError(f"private subnets {a} and {b} overlap")
        return self


PERSONAL_DATA_PURPOSES = ("data", "artifacts")
"""Bucket purposes that hold personal data (training datasets, features, pipeline artifacts): their objects expire."""
DEFAULT_PERSONAL_DATA_EXPIRY_DAYS = 365
"""Default expiry of personal-data buckets; never longer than the retention the records of processing declare
(``policies/compliance/processing/``; a test keeps them consistent)."""


class Bucket(_Model):
    name: DnsLabel
    purpose: Literal["data", "models", "artifacts", "logs"] = "data"
    versioning: bool = True
    object_lock_days: int | None = Field(default=None, ge=1, le=36500, description="WORM retention, for audit")
    expire_noncurrent_after_days: int = Field(default=90, ge=1)
    transition_to_infrequent_after_days: int | None = Field(default=30, ge=30)
    expire_after_days: int | None = Field(default=None, ge=1, le=3650, description="expire current objects after this")

    @property
    def expiry_days(self) -> int | None:
        """Days after which current objects expire: ``expireAfterDays``, else for buckets holding personal data
        (``data``, ``artifacts``; GDPR storage limitation) :data:`DEFAULT_PERSONAL_DATA_EXPIRY_DAYS` (at least the
        WORM lock), else never."""
        if self.expire_after_days is not None:
            return self.expire_after_days
        if self.purpose in PERSONAL_DATA_PURPOSES:
            return max(DEFAULT_PERSONAL_DATA_EXPIRY_DAYS, self.object_lock_days or 0)
        return None

    @model_validator(mode="after")
    def _expiry_after_lock(self) -> Bucket:
        if self.expire_after_days and self.object_lock_days and self.expire_after_days < self.object_lock_days:
            raise ValueError(
                f"expireAfterDays {self.expire_after_days} is shorter than objectLockDays "
                f"{self.object_lock_days}: objects under WORM retention cannot expire before it ends"
            )
        return self


class Oidc(_Model):
    """The enterprise IdP's OpenID Connect issuer: KFP, the feature server and model endpoints accept only its tokens
    (and on-prem the API server authenticates people with it)."""

    issuer_url: str = Field(
        pattern=r"^https://[^\s/]+(/\S*)?$", description="the issuer (https://...), as in its tokens"
    )
    audience: str = Field(min_length=1, description="the client id the tokens are issued for (their aud claim)")
    username_claim: str = "email"
    groups_claim: str = "groups"


class Identity(_Model):
    """Enterprise IdP group names (or object ids) bound to the platform's three roles, and the IdP's OIDC issuer."""

    platform_admin: list[str] = Field(min_length=1)
    ml_engineer: list[str] = Field(min_length=1)
    data_scientist: list[str] = Field(min_length=1)
    oidc: Oidc


class Residency(_Model):
    allowed_regions: list[str] = Field(default_factory=list, description="regions (aws/azure) or sites (onprem)")


class Safeguards(_Model):
    """Explicit, visible switches for safeguards that are on by default. Turning one off is reviewed in the PR."""

    public_cluster_endpoint: bool = False
    gpu_driver_preinstalled: bool = True


class Release(_Model):
    """How a model version reaches production (docs/security-release-admission.md)."""

    require_human_approval: bool = Field(
        default=False,
        description="the API server admits only versions an approver (identity.platformAdmin) signed off; "
        "`mlops pipeline submit --stack` then runs the pipeline with require_approval",
    )


class OnPrem(_Model):
    storage_class: str = "encrypted-local"
    ingress_domain: str = "mlops.internal"
    api_endpoint: str | None = Field(
        default=None, pattern=r"^https://", description="the cluster's API server URL; default: the kubeconfig's"
    )
    certificate_issuer: str = Field(
        default="mlops-ca",
        description="cert-manager ClusterIssuer (the site's CA) that signs in-cluster TLS certificates",
    )
    pod_cidr: Cidr = Field(
        default="192.168.0.0/16",
        description="the pod network Calico assigns from (must not overlap the nodes' network)",
    )

    @field_validator("pod_cidr")
    @classmethod
    def _pod_cidr(cls, value: str) -> str:
        return _check_cidr(value)


class Egress(_Model):
    """Named egress beyond the cluster (docs/security-network.md): no NetworkPolicy allows 0.0.0.0/0 or ::/0, so
    what pods reach outside the pod network is listed here or derived from the stack."""

    proxy: str | None = Field(
        default=None,
        pattern=r"^http://[0-9.]+:[0-9]{1,5}/?$",
        description="forward proxy for destinations without a private endpoint (Entra ID's token endpoint, a "
        "package index): http://<IPv4>:<port>; required on azure",
    )
    api_server_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="onprem: where the API server's endpoints live (the control-plane nodes); default: the "
        "apiEndpoint's address if it is an IP, else the system pool's node addresses",
    )

    @field_validator("proxy")
    @classmethod
    def _proxy(cls, value: str | None) -> str | None:
        if value is not None:
            host, port = value.removeprefix("http://").rstrip("/").rsplit(":", 1)
            try:
                ipaddress.IPv4Address(host)
            except ValueError:
                raise ValueError(
                    f"{host!r} is not an IPv4 address (NetworkPolicy names the proxy by address)"
                ) from None
            if not 1 <= int(port) <= 65535:
                raise ValueError(f"port {port} is not a TCP port (1-65535)")
        return value

    @field_validator("api_server_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        checked = [_check_cidr(v) for v in value]
        if any(ipaddress.IPv4Network(c).prefixlen == 0 for c in checked):
            raise ValueError("0.0.0.0/0 is every address; list the control-plane nodes' addresses")
        return checked

    @property
    def proxy_address(self) -> tuple[str, int] | None:
        """(IPv4, port) of the proxy, or None."""
        if self.proxy is None:
            return None
        host, port = self.proxy.removeprefix("http://").rstrip("/").rsplit(":", 1)
        return host, int(port)


class AptRepository(_Model):
    """One apt source the node bootstrap installs pinned packages from (an internal mirror of the vendor repo)."""

    name: DnsLabel = Field(description="names the repository in messages (a DNS label)")
    uri: str = Field(pattern=r"^(https?://|file:/)\S+$", description="mirror URL: https://mirror.dc1.internal/k8s/")
    suite: str = Field(pattern=r"^\S+$", description="distribution or flat-repo path, e.g. jammy or ./")
    components: list[str] = Field(default_factory=list)
    signed_by: str | None = Field(
        default=None, pattern=r"^/\S+$", description="keyring on the node signing it: /etc/apt/keyrings/k8s.gpg"
    )
    allow_unsigned: bool = Field(default=False, description="safeguard off: trust the repo without a signature")

    @model_validator(mode="after")
    def _signed(self) -> AptRepository:
        if not self.signed_by and not self.allow_unsigned:
            raise ValueError(
                f"apt repository {self.name!r}: set signedBy (a keyring path on the node) "
                "or, explicitly, allowUnsigned: true"
            )
        return self


_PINNED_VERSION = r"^[0-9][A-Za-z0-9.+~:-]*$"


class NodeBootstrap(_Model):
    """How on-prem nodes are bootstrapped over SSH (components/bootstrap): pinned package sources and the join."""

    apt_repositories: list[AptRepository] = Field(min_length=1)
    containerd_package: str = Field(default="containerd.io", description="containerd.io (Docker repo) or containerd")
    containerd_version: str = Field(pattern=_PINNED_VERSION, description="exact apt version, e.g. 1.7.27-1")
    kubernetes_package_version: str = Field(
        pattern=_PINNED_VERSION, description="exact apt version of kubelet/kubeadm/kubectl, e.g. 1.33.2-1.1"
    )
    nvidia_container_toolkit_version: str = Field(pattern=_PINNED_VERSION, description="exact apt version: 1.17.8-1")
    pause_image: str = Field(default="registry.k8s.io/pause:3.10", description="containerd sandbox image (pinned tag)")
    api_server_endpoint: str = Field(pattern=r"^[A-Za-z0-9.-]+:[0-9]{1,5}$", description="host:port nodes join")
    ca_cert_hashes: list[str] = Field(min_length=1, description="sha256:<hex> of the cluster CA public key")

    @field_validator("ca_cert_hashes")
    @classmethod
    def _hashes(cls, value: list[str]) -> list[str]:
        for item in value:
            if not re.fullmatch(r"sha256:[0-9a-f]{64}", item):
                raise ValueError(
                    f"{item!r} is not sha256:<64 lowercase hex digits> (see kubeadm token create --print-join-command)"
                )
        return value


TEAM_NAMESPACES = ("kubeflow", "ml-workspace")
"""Namespaces a team may be given: KFP's (``components.services.kfp.NAMESPACE``) and the baseline's team namespaces
(``components.kubernetes.baseline.DEFAULT_TEAM_NAMESPACES``): both exist with RBAC for the IdP groups."""
_CPU_QUANTITY = r"^([1-9][0-9]*|[0-9]+\.[0-9]+|[1-9][0-9]*m)$"
_MEMORY_QUANTITY = r"^[1-9][0-9]*(Mi|Gi|Ti)$"


class Team(_Model):
    """An ML team's share of the cluster: a namespace with a ResourceQuota and LimitRange (components/training)."""

    name: DnsLabel
    namespace: str = Field(description=f"one of {', '.join(TEAM_NAMESPACES)}")
    gpu_quota: int | None = Field(
        default=None,
        ge=0,
        le=10000,
        description="requests.nvidia.com/gpu the namespace may hold at once; default: every GPU of the GPU pools",
    )
    cpu_quota: str = Field(default="64", description="requests.cpu, e.g. 64 or 500m")
    memory_quota: str = Field(default="256Gi", description="requests.memory, e.g. 256Gi")
    pods: int = Field(default=200, ge=1, le=10000, description="pods the namespace may hold at once")

    @field_validator("namespace")
    @classmethod
    def _known_namespace(cls, value: str) -> str:
        if value not in TEAM_NAMESPACES:
            raise ValueError(f"not a team namespace; allowed: {', '.join(TEAM_NAMESPACES)}")
        return value

    @field_validator("cpu_quota")
    @classmethod
    def _cpu(cls, value: str) -> str:
        if not re.fullmatch(_CPU_QUANTITY, value):
            raise ValueError("not a CPU quantity; allowed: whole cores (64), decimal cores (0.5) or millicores (500m)")
        return value

    @field_validator("memory_quota")
    @classmethod
    def _memory(cls, value: str) -> str:
        if not re.fullmatch(_MEMORY_QUANTITY, value):
            raise ValueError("not a memory quantity; allowed: a whole number of Mi, Gi or Ti (256Gi)")
        return value


class StackConfig(_Model):
    target: Literal["aws", "azure", "onprem"]
    region: str = Field(description="AWS region, Azure location, or on-prem site name")
    environment: Literal["dev", "staging", "prod"] = "prod"
    tags: dict[str, str]
    network: Network | None = None
    node_pools: list[NodePool] = Field(min_length=1)
    buckets: list[Bucket] = Field(min_length=1)
    identity: Identity
    residency: Residency = Field(default_factory=Residency)
    safeguards: Safeguards = Field(default_factory=Safeguards)
    kubernetes_version: str = "1.33"
    onprem: OnPrem | None = None
    egress: Egress = Field(default_factory=Egress)
    release: Release = Field(default_factory=Release)
    kubeconfig: SecretValue | None = None
    node_ssh_private_key: SecretValue | None = None
    cluster_join_token: SecretValue | None = None
    node_bootstrap: NodeBootstrap | None = None
    teams: list[Team] = Field(
        default_factory=lambda: [Team(**DEFAULT_TEAM)],
        min_length=1,
        description="ML teams: each namespace gets a ResourceQuota and LimitRange; default one team ml on kubeflow",
    )
    model_server_repository: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+$",
        description="image repository of the model server (pipelines/serving/Dockerfile) in the cluster's registry, "
        "e.g. registry.dc1.internal/mlops/model-server; default ghcr.io/mlops-platform/model-server (tag: the "
        "project version)",
    )

    @field_validator("tags")
    @classmethod
    def _required_tags(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [t for t in REQUIRED_TAGS if not value.get(t)]
        if missing:
            raise ValueError(f"missing required tag(s) {', '.join(missing)}; required: {', '.join(REQUIRED_TAGS)}")
        if value["data-classification"] not in DATA_CLASSIFICATIONS:
            raise ValueError(
                f"data-classification {value['data-classification']!r} is not one of {', '.join(DATA_CLASSIFICATIONS)}"
            )
        return value

    @model_validator(mode="after")
    def _per_target(self) -> StackConfig:
        names = [p.name for p in self.node_pools]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"node pool names must be unique; repeated: {', '.join(dupes)}")
        if not any(p.role == "system" for p in self.node_pools):
            raise ValueError("one node pool must have role: system (it runs the platform's own workloads)")
        if self.target in ("aws", "azure"):
            if self.network is None:
                raise ValueError(f"network is required for target {self.target}")
            for pool in self.node_pools:
                if not pool.instance_type:
                    raise ValueError(f"node pool {pool.name!r}: instanceType is required for target {self.target}")
                if pool.nodes:
                    raise ValueError(f"node pool {pool.name!r}: nodes are only for target onprem")
        else:
            if self.kubeconfig is None:
                raise ValueError("kubeconfig (a Pulumi secret) is required for target onprem")
            for pool in self.node_pools:
                if not pool.nodes:
                    raise ValueError(f"node pool {pool.name!r}: list its servers under nodes for target onprem")
        return self

    @model_validator(mode="after")
    def _bootstrap_needs(self) -> StackConfig:
        if self.node_bootstrap is None:
            return self
        if self.target != "onprem":
            raise ValueError("nodeBootstrap is only for target onprem")
        missing = [
            k
            for k, v in (
                ("nodeSshPrivateKey", self.node_ssh_private_key),
                ("clusterJoinToken", self.cluster_join_token),
            )
            if v is None
        ]
        if missing:
            raise ValueError(f"nodeBootstrap needs the Pulumi secret(s) {', '.join(missing)}")
        minor = self.kubernetes_version + "."
        if not self.node_bootstrap.kubernetes_package_version.startswith(minor):
            raise ValueError(
                f"nodeBootstrap.kubernetesPackageVersion "
                f"{self.node_bootstrap.kubernetes_package_version!r} is not a {self.kubernetes_version}.x "
                f"release (kubernetesVersion)"
            )
        return self

    @property
    def allowed_regions(self) -> tuple[str, ...]:
        """The stack's own list (validated to be within the organisation's), else the organisation's."""
        if self.residency.allowed_regions:
            return tuple(self.residency.allowed_regions)
        return organisation_regions().get(self.target, ())

    @property
    def gpu_pools(self) -> list[NodePool]:
        return [p for p in self.node_pools if p.kind == "gpu"]

    @property
    def gpu_capacity(self) -> int:
        """GPUs the GPU pools hold at their largest: maxSize x gpuCount, summed (the training queue's GPU quota)."""
        return sum(p.max_size * (p.gpu_count or 0) for p in self.gpu_pools)

    @property
    def gpus_per_node(self) -> int | None:
        """GPUs per node a TrainJob asks for: the largest GPU pool node's gpuCount, so an 8-GPU node runs 8 ranks (the
        scheduler, and Karpenter on AWS, put such pods only on nodes that have that many); None without GPU pools."""
        return max((p.gpu_count or 0 for p in self.gpu_pools), default=0) or None

    def team_gpu_quota(self, team: Team) -> int:
        """The team's GPU quota: its own, else every GPU of the stack."""
        return self.gpu_capacity if team.gpu_quota is None else team.gpu_quota


def _loc(loc: tuple[Any, ...]) -> str:
    """Turn a pydantic location into the stack-file key path (``mlops:nodePools[1].gpuCount``)."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else f"{PROJECT}:") + str(part)
    return path or f"{PROJECT}:<root>"


def _get_path(raw: Mapping[str, Any], loc: tuple[Any, ...]) -> Any:
    node: Any = raw
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def validate(raw: Mapping[str, Any], stack_file: str) -> StackConfig:
    """Validate raw config (keys without namespace) into a :class:`StackConfig`, or raise :class:`ConfigError`."""
    try:
        cfg = StackConfig.model_validate(dict(raw))
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            key = _loc(loc)
            if err["type"] == "missing":
                lines.append(f"{stack_file}: required key {key} is missing")
                continue
            if err["type"] == "extra_forbidden":
                lines.append(f"{stack_file}: unknown key {key}; check its spelling against docs/configuration.md")
                continue
            value = _get_path(raw, loc) if loc else None
            msg = err["msg"].removeprefix("Value error, ")
            shown = f" = {value!r}" if value is not None and not isinstance(value, (dict, list, SecretValue)) else ""
            lines.append(f"{stack_file}: {key}{shown}: {msg}")
        raise ConfigError("invalid stack configuration:\n  " + "\n  ".join(lines)) from None
    _check_teams(cfg, stack_file)
    organisation = organisation_regions().get(cfg.target, ())
    wider = [r for r in cfg.residency.allowed_regions if r not in organisation]
    if wider:
        raise ConfigError(
            f"{stack_file}: {RESIDENCY_KEY} = {cfg.residency.allowed_regions!r}: {', '.join(map(repr, wider))} "
            f"not allowed by the organisation residency policy ({RESIDENCY_POLICY.name} under policies/) for target "
            f"{cfg.target}; allowed values: {', '.join(organisation) or '(none)'}. A stack may only narrow that list."
        )
    if cfg.region not in cfg.allowed_regions:
        allowed = ", ".join(cfg.allowed_regions) or "(none listed under mlops:residency.allowedRegions)"
        raise ConfigError(
            f"{stack_file}: {PROJECT}:region = {cfg.region!r} breaks the data-residency rule: "
            f"allowed for target {cfg.target}: {allowed}. No resource was created."
        )
    return cfg


def _check_teams(cfg: StackConfig, stack_file: str) -> None:
    """Team rules that span keys: unique names and namespaces, and no GPU quota above what the pools hold."""
    seen: dict[str, int] = {}
    for i, team in enumerate(cfg.teams):
        for field_name, value in (("name", team.name), ("namespace", team.namespace)):
            key = f"{field_name}:{value}"
            if key in seen:
                raise ConfigError(
                    f"{stack_file}: {PROJECT}:teams[{i}].{field_name} = {value!r}: already used by "
                    f"{PROJECT}:teams[{seen[key]}]; each team needs its own {field_name}"
                )
            seen[key] = i
        if team.gpu_quota is not None and team.gpu_quota > cfg.gpu_capacity:
            pools = ", ".join(f"{p.name} {p.max_size}x{p.gpu_count}" for p in cfg.gpu_pools) or "no GPU pools"
            raise ConfigError(
                f"{stack_file}: {PROJECT}:teams[{i}].gpuQuota = {team.gpu_quota}: more GPUs than the stack's GPU pools "
                f"hold at maxSize ({cfg.gpu_capacity}: {pools}); allowed: 0..{cfg.gpu_capacity}"
            )


def load_from_pulumi() -> StackConfig:
    """Read and validate the current stack's config through the Pulumi runtime (real run or offline preview)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    path = stack_file(pulumi.get_stack())
    raw: dict[str, Any] = {}
    cfg = pulumi.Config(PROJECT)
    prefix = f"{PROJECT}:"
    # The engine hands config to `pulumi up` in PULUMI_CONFIG; the offline preview sets it in-process.
    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    secret_keys = set(runtime_config.get_config_secret_keys_env())
    for full_key in sorted(keys):
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        if key in SECRET_KEYS:
            if not (runtime_config.is_config_secret(full_key) or full_key in secret_keys):
                raise ConfigError(
                    f"{path}: {full_key} must be a Pulumi secret, not plaintext: "
                    f"set it with `pulumi config set --secret {key} ...`"
                )
            raw[key] = SecretValue(key, cfg.require_secret(key))
            continue
        text = cfg.get(key)
        if key in _STRING_KEYS:
            raw[key] = text
            continue
        try:
            raw[key] = json.loads(text) if text is not None else None
        except json.JSONDecodeError:
            raw[key] = text  # a plain string where the schema wants structure: validation names it
    return validate(raw, path)


# Keys whose values are plain strings: Pulumi hands every config value over as text, and "1.33" must stay a string.
_STRING_KEYS = frozenset(
    (field.alias or name)
    for name, field in StackConfig.model_fields.items()
    if field.annotation is str or getattr(field.annotation, "__origin__", None) is Literal
)

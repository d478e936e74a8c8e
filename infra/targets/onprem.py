"""On-prem target: an existing Kubernetes cluster reached through a kubeconfig held as a Pulumi secret.

Marks the stack's servers as node pools (labels; the GPU taint on GPU pools), installs Calico and Falco, and runs
the S3-compatible object store (MinIO) inside the cluster. The in-cluster baseline (namespaces, GPU Operator, RBAC) follows in
:mod:`infra.program`, as on every target.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi

from infra.config import PROJECT, ConfigError, NodeBootstrap, NodePool, OnPrem, StackConfig
from infra.targets import TargetCluster
from infra.targets.args import bucket_specs, current_stack_file
from infra.targets.egress import egress_endpoints

if TYPE_CHECKING:
    from components.bootstrap.node_bootstrap import NodesBootstrapArgs
    from components.bootstrap.render import BootstrapSettings, NodePlan
    from components.onprem.gpu_pools import NodePoolSpec, OnPremGpuPoolsArgs
    from components.onprem.object_store import OnPremObjectStoreArgs


def node_pool_spec(pool: NodePool) -> NodePoolSpec:
    """One ``mlops:nodePools[]`` entry, its servers included, as the on-prem components see it."""
    from components.onprem.gpu_pools import NodePoolSpec, NodeTaint, PoolNode

    return NodePoolSpec(
        name=pool.name,
        kind=pool.kind,
        gpu_model=pool.gpu_model,
        gpu_count=pool.gpu_count,
        labels=dict(pool.labels),
        taints=[NodeTaint(key=t.key, value=t.value, effect=t.effect) for t in pool.taints],
        nodes=[
            PoolNode(
                name=n.name,
                address=n.address,
                ssh_user=n.ssh_user,
                ssh_host_key=n.ssh_host_key,
                gpu_count=n.gpu_count,
                control_plane=n.control_plane,
            )
            for n in pool.nodes
        ],
    )


def node_pool_specs(cfg: StackConfig) -> list[NodePoolSpec]:
    return [node_pool_spec(p) for p in cfg.node_pools]


def node_plans(cfg: StackConfig) -> list[NodePlan]:
    """Every server of the stack that has an SSH address, in stack order (:func:`components.bootstrap.render.node_plans`)."""
    from components.bootstrap import render

    apiserver = render.apiserver_plan(cfg.identity.oidc, cfg.kubernetes_version)
    return render.node_plans(node_pool_specs(cfg), apiserver)


def bootstrap_settings(settings: NodeBootstrap) -> BootstrapSettings:
    """The stack's ``mlops:nodeBootstrap`` as the bootstrap component sees it."""
    from components.bootstrap.render import AptSource, BootstrapSettings

    return BootstrapSettings(
        apt_repositories=[
            AptSource(uri=r.uri, suite=r.suite, components=list(r.components), signed_by=r.signed_by)
            for r in settings.apt_repositories
        ],
        containerd_package=settings.containerd_package,
        containerd_version=settings.containerd_version,
        kubernetes_package_version=settings.kubernetes_package_version,
        nvidia_container_toolkit_version=settings.nvidia_container_toolkit_version,
        pause_image=settings.pause_image,
        api_server_endpoint=settings.api_server_endpoint,
        ca_cert_hashes=list(settings.ca_cert_hashes),
    )


def nodes_bootstrap_args(cfg: StackConfig) -> NodesBootstrapArgs:
    """Every listed server with an address, bootstrapped over SSH; refuses a stack without the settings and secrets."""
    from components.bootstrap.node_bootstrap import NodesBootstrapArgs

    if cfg.node_bootstrap is None or cfg.node_ssh_private_key is None or cfg.cluster_join_token is None:
        raise ConfigError(
            f"{current_stack_file()}: {PROJECT}:nodeBootstrap with the secrets nodeSshPrivateKey and clusterJoinToken "
            "is required to bootstrap nodes"
        )
    plans = node_plans(cfg)
    listed = [n.name for p in cfg.node_pools for n in p.nodes]
    return NodesBootstrapArgs(
        nodes=plans,
        settings=bootstrap_settings(cfg.node_bootstrap),
        ssh_private_key=cfg.node_ssh_private_key.value,
        join_token=cfg.cluster_join_token.value,
        require_driver=cfg.safeguards.gpu_driver_preinstalled,
        skipped=[n for n in listed if n not in {p.name for p in plans}],
    )


def gpu_pools_args(cfg: StackConfig) -> OnPremGpuPoolsArgs:
    from components.onprem.gpu_pools import OnPremGpuPoolsArgs

    return OnPremGpuPoolsArgs(pools=node_pool_specs(cfg))


def object_store_args(cfg: StackConfig) -> OnPremObjectStoreArgs:
    from components.kubernetes.namespace import psa_version
    from components.onprem.object_store import OnPremObjectStoreArgs

    onprem = cfg.onprem or OnPrem()
    return OnPremObjectStoreArgs(
        buckets=bucket_specs(cfg),
        storage_class=onprem.storage_class,
        certificate_issuer=onprem.certificate_issuer,
        pod_security_version=psa_version(cfg.kubernetes_version),
    )


def api_server(kubeconfig: str) -> str:
    """The API server URL of the kubeconfig's current context (or its only cluster)."""
    import yaml

    problem = "it is not a kubeconfig with a current-context and a cluster server"
    try:
        doc = yaml.safe_load(kubeconfig)
    except yaml.YAMLError:
        doc = None
    if isinstance(doc, dict):
        clusters = {c.get("name"): c.get("cluster") or {} for c in doc.get("clusters") or [] if isinstance(c, dict)}
        contexts = {c.get("name"): c.get("context") or {} for c in doc.get("contexts") or [] if isinstance(c, dict)}
        current = contexts.get(doc.get("current-context"), {}).get("cluster")
        if current is None and len(clusters) == 1:
            current = next(iter(clusters))
        server = clusters.get(current, {}).get("server")
        if isinstance(server, str) and server.startswith("https://"):
            return server
        if isinstance(server, str):
            problem = "its cluster server is not an https:// URL"
    raise ConfigError(
        f"{PROJECT}:kubeconfig: {problem}; set {PROJECT}:onprem.apiEndpoint, or store the cluster's admin kubeconfig "
        f'with `pulumi config set --secret kubeconfig "$(cat admin.kubeconfig)"`'
    )


def build(cfg: StackConfig) -> TargetCluster:
    from pulumi_kubernetes.provider import Provider

    from components.kubernetes.falco import Falco, FalcoArgs
    from components.kubernetes.namespace import psa_version
    from components.onprem.calico import CalicoNetwork, CalicoNetworkArgs
    from components.onprem.gpu_pools import OnPremGpuPools
    from components.onprem.object_store import OnPremObjectStore

    if cfg.kubeconfig is None:  # the config schema requires it for onprem; keep the guard explicit
        raise ConfigError(f"{PROJECT}:kubeconfig (a Pulumi secret) is required for target onprem")
    onprem = cfg.onprem or OnPrem()
    egress = egress_endpoints(cfg)
    provider = Provider(
        cfg.region,
        kubeconfig=cfg.kubeconfig.value,
        # Identify the cluster by its site, so rotating the kubeconfig's credentials does not replace every resource.
        cluster_identifier=cfg.region,
        enable_server_side_apply=True,
    )
    bootstrapped: list[pulumi.Resource] = []
    if cfg.node_bootstrap is not None:  # servers are set up and joined over SSH before their Node objects are marked
        from components.bootstrap.node_bootstrap import NodesBootstrap

        bootstrapped.append(NodesBootstrap("node-bootstrap", nodes_bootstrap_args(cfg)))
    pools = OnPremGpuPools(
        "node-pools",
        gpu_pools_args(cfg),
        opts=pulumi.ResourceOptions(provider=provider, depends_on=bootstrapped),
    )
    # The CNI and NetworkPolicy engine first: no pod starts, and no policy is inert, before it exists.
    calico = CalicoNetwork(
        "calico",
        CalicoNetworkArgs(pod_security_version=psa_version(cfg.kubernetes_version), pod_cidr=onprem.pod_cidr),
        opts=pulumi.ResourceOptions(provider=provider, depends_on=bootstrapped),
    )
    # Runtime threat detection on every node (docs/security-detection-and-audit.md, CKV_MLOPS_364).
    Falco(
        "falco",
        FalcoArgs(pod_security_version=psa_version(cfg.kubernetes_version)),
        opts=pulumi.ResourceOptions(provider=provider, depends_on=calico.ready),
    )
    store = OnPremObjectStore(
        "object-store",
        object_store_args(cfg),
        opts=pulumi.ResourceOptions(provider=provider, depends_on=calico.ready),
    )

    endpoint: Any = onprem.api_endpoint or pulumi.Output.secret(cfg.kubeconfig.value).apply(api_server)
    return TargetCluster(
        egress=egress,
        provider=provider,
        cluster_name=cfg.region,
        endpoint=endpoint,
        buckets=store.bucket_uris,
        network={
            "storage_class": onprem.storage_class,
            "object_store_endpoint": store.endpoint,
            "object_store_namespace": store.namespace,
            "object_store_ca_secret": store.tls_secret,
        },
        dependencies=[pools, *calico.ready],
        outputs={
            "objectStoreEndpoint": store.endpoint,
            "gpuNodes": pools.gpu_nodes,
            "ingressDomain": onprem.ingress_domain,
        },
    )

"""On-prem target: an existing Kubernetes cluster reached through a kubeconfig held as a Pulumi secret.

Marks the stack's servers as node pools (labels; the GPU taint on GPU pools), installs Calico and Falco, and runs
the S3-compatible object store (MinIO) inside the cluster. The in-cluster baseline (namespaces, GPU Operator, RBAC) follows in
:mod:`infra.program`, as on every target.
"""

from __future__ import annotations

from typing import Any

import pulumi

from infra.config import PROJECT, ConfigError, OnPrem, StackConfig
from infra.targets import TargetCluster
from infra.targets.egress import egress_endpoints


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
        f"with `pulumi config set --secret kubeconfig \"$(cat admin.kubeconfig)\"`"
    )


def build(cfg: StackConfig) -> TargetCluster:
    from pulumi_kubernetes.provider import Provider

    from components.kubernetes.falco import Falco, FalcoArgs
    from components.kubernetes.namespace import psa_version
    from components.onprem.calico import CalicoNetwork, CalicoNetworkArgs
    from components.onprem.gpu_pools import OnPremGpuPools, OnPremGpuPoolsArgs
    from components.onprem.object_store import OnPremObjectStore, OnPremObjectStoreArgs

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
        from components.bootstrap.node_bootstrap import NodesBootstrap, NodesBootstrapArgs

        bootstrapped.append(NodesBootstrap("node-bootstrap", NodesBootstrapArgs.from_config(cfg)))
    pools = OnPremGpuPools(
        "node-pools",
        OnPremGpuPoolsArgs.from_config(cfg),
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
        "object-store", OnPremObjectStoreArgs.from_config(cfg),
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

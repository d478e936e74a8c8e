"""Kueue at a pinned chart version: one training ClusterQueue sized from the node pools, a LocalQueue per team.

- Install: the ``kueue`` chart (:data:`components.versions.KUEUE`) in ``kueue-system`` (PSA restricted, ingress only
  to the admission webhook), configured to manage exactly ``batch/job`` (Katib trials, plain training Jobs) and
  ``trainer.kubeflow.org/trainjob``; jobs without a queue label are left alone. Fair sharing is on (preemption by
  share), and ``waitForPodsReady`` evicts and requeues a job whose pods do not all start (no half-placed gangs
  holding GPUs).
- Flavors: ``cpu`` (the CPU pools' nodes) first, then ``gpu``: Kueue gives an admitted pod the GPU pools' node
  selector and toleration (:mod:`components.gpu`), so jobs need not carry them. A CPU-only job fits ``cpu``; one
  that asks for GPUs does not (its GPU quota is 0) and lands on ``gpu``.
- Quota: GPUs = maxSize x gpuCount over the GPU pools (what the cluster can hold once scaled out); CPU and memory =
  the teams' quotas added up. The per-team bound is the namespace's ResourceQuota (:mod:`.quotas`).
- Queues: the ClusterQueue admits workloads only from the team namespaces; each has the LocalQueue
  :data:`components.gpu.TRAINING_QUEUE` that jobs name with the :data:`components.gpu.QUEUE_NAME_LABEL` label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components import gpu, versions
from components.errors import InputError
from components.kubernetes.helm import pinned_release
from components.kubernetes.namespace import NAMESPACE_NAME_LABEL, SecureNamespace, SecureNamespaceArgs

API_VERSION = "kueue.x-k8s.io/v1beta1"
NAMESPACE = "kueue-system"
CLUSTER_QUEUE = "mlops-training"
COHORT = "mlops"
CPU_FLAVOR = "cpu"
GPU_FLAVOR = "gpu"
FRAMEWORKS = ("batch/job", "trainer.kubeflow.org/trainjob")
"""The job kinds Kueue manages here (names from Kueue's configuration API, ``integrations.frameworks``)."""
WEBHOOK_PORT = 9443


def cpu_millicores(quantity: str) -> int:
    """``64`` / ``0.5`` / ``500m`` -> millicores."""
    return int(quantity[:-1]) if quantity.endswith("m") else round(float(quantity) * 1000)


def memory_mebibytes(quantity: str) -> int:
    """``512Mi`` / ``256Gi`` / ``1Ti`` -> MiB."""
    units = {"Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}
    return int(quantity[:-2]) * units[quantity[-2:]]


@dataclass(frozen=True)
class TeamShare:
    """What Kueue needs of a team: where its jobs come from and how much it may hold (Kubernetes quantities)."""

    namespace: str
    gpus: int
    cpu: str
    memory: str


def manager_config() -> str:
    """Kueue's controller configuration (``config.kueue.x-k8s.io/v1beta1``) as the chart takes it."""
    import yaml

    return yaml.safe_dump(
        {
            "apiVersion": "config.kueue.x-k8s.io/v1beta1",
            "kind": "Configuration",
            "health": {"healthProbeBindAddress": ":8081"},
            "metrics": {"bindAddress": ":8443"},
            "webhook": {"port": WEBHOOK_PORT},
            "leaderElection": {"leaderElect": True, "resourceName": "c1f6bfd2.kueue.x-k8s.io"},
            "manageJobsWithoutQueueName": False,
            "waitForPodsReady": {
                "enable": True,
                "timeout": "10m",
                "blockAdmission": False,
                "requeuingStrategy": {
                    "timestamp": "Eviction",
                    "backoffLimitCount": 5,
                    "backoffBaseSeconds": 60,
                    "backoffMaxSeconds": 3600,
                },
            },
            "fairSharing": {
                "enable": True,
                "preemptionStrategies": ["LessThanOrEqualToFinalShare", "LessThanInitialShare"],
            },
            "integrations": {"frameworks": list(FRAMEWORKS)},
        },
        sort_keys=False,
    )


def resource_flavors() -> dict[str, dict[str, Any]]:
    """Flavor name -> spec: the CPU pools' nodes, and the GPU pools' nodes (label and toleration from components.gpu)."""
    return {
        CPU_FLAVOR: {"nodeLabels": {gpu.LABEL_ACCELERATOR: "none"}},
        GPU_FLAVOR: {"nodeLabels": dict(gpu.GPU_NODE_SELECTOR), "tolerations": [dict(gpu.GPU_TOLERATION)]},
    }


def cluster_queue_spec(gpu_capacity: int, teams: Sequence[TeamShare]) -> dict[str, Any]:
    """The training ClusterQueue: quotas per flavor, admission from team namespaces only, preemption and fairness."""
    cpu = f"{sum(cpu_millicores(t.cpu) for t in teams)}m"
    memory = f"{sum(memory_mebibytes(t.memory) for t in teams)}Mi"

    def flavor(name: str, gpus: int) -> dict[str, Any]:
        return {
            "name": name,
            "resources": [
                {"name": "cpu", "nominalQuota": cpu},
                {"name": "memory", "nominalQuota": memory},
                {"name": gpu.GPU_RESOURCE, "nominalQuota": gpus},
            ],
        }

    return {
        "namespaceSelector": {
            "matchExpressions": [
                {"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": sorted({t.namespace for t in teams})}
            ]
        },
        "cohort": COHORT,
        "queueingStrategy": "BestEffortFIFO",
        "resourceGroups": [
            {
                "coveredResources": ["cpu", "memory", gpu.GPU_RESOURCE],
                "flavors": [flavor(CPU_FLAVOR, 0), flavor(GPU_FLAVOR, gpu_capacity)],
            }
        ],
        "preemption": {"reclaimWithinCohort": "Any", "withinClusterQueue": "LowerPriority"},
        "fairSharing": {"weight": "1"},
    }


@dataclass
class KueueArgs:
    pod_security_version: str
    gpu_capacity: int
    """GPUs of the GPU pools at maxSize (``StackConfig.gpu_capacity``)."""
    teams: Sequence[TeamShare]
    api_server_egress: Sequence[dict[str, Any]]
    """NetworkPolicy egress rules to the API server (``EgressEndpoints.api_server()``): the only place the
    controller calls."""
    team_namespaces: Sequence[pulumi.Resource] = ()
    """Resources that make the team namespaces (LocalQueues wait for them)."""
    chart: versions.HelmChart = versions.KUEUE
    queue_name: str = gpu.TRAINING_QUEUE


class Kueue(pulumi.ComponentResource):
    """Kueue, its flavors, the training ClusterQueue and a LocalQueue in every team namespace."""

    cluster_queue: pulumi.Output[str]

    def __init__(self, name: str, args: KueueArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:training:Kueue", name, None, opts)
        if not args.teams:
            raise InputError("KueueArgs.teams: at least one team namespace must submit to the training queue")
        if not args.api_server_egress or any(not rule.get("to") for rule in args.api_server_egress):
            raise InputError("KueueArgs.api_server_egress: name the API server (rules with a `to`), never any address")
        from pulumi_kubernetes.apiextensions import CustomResource
        from pulumi_kubernetes.networking.v1 import NetworkPolicy

        child = pulumi.ResourceOptions(parent=self)
        namespace = SecureNamespace(
            f"{name}-ns",
            SecureNamespaceArgs(name=NAMESPACE, pod_security_version=args.pod_security_version, tier="system"),
            opts=child,
        )
        ns = namespace.name
        NetworkPolicy(
            f"{name}-webhook",
            metadata={"name": "allow-kueue-webhook", "namespace": ns},
            spec={
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [{"ports": [{"protocol": "TCP", "port": WEBHOOK_PORT}]}],
            },
            opts=child,
        )
        NetworkPolicy(
            f"{name}-api-server",
            metadata={"name": "allow-api-server-egress", "namespace": ns},
            spec={
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": list(args.api_server_egress),
            },
            opts=child,
        )
        release = pinned_release(
            name,
            "kueue",
            args.chart,
            ns,
            opts=child,
            values={"managerConfig": {"controllerManagerConfigYaml": manager_config()}},
        )
        after = pulumi.ResourceOptions(parent=self, depends_on=[release])  # CRDs and webhooks first
        flavors = [
            CustomResource(
                f"{name}-flavor-{flavor}",
                api_version=API_VERSION,
                kind="ResourceFlavor",
                metadata={"name": flavor},
                spec=spec,
                opts=after,
            )
            for flavor, spec in resource_flavors().items()
        ]
        queue = CustomResource(
            f"{name}-cluster-queue",
            api_version=API_VERSION,
            kind="ClusterQueue",
            metadata={"name": CLUSTER_QUEUE},
            spec=cluster_queue_spec(args.gpu_capacity, args.teams),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[release, *flavors]),
        )
        for team in args.teams:
            CustomResource(
                f"{name}-local-queue-{team.namespace}",
                api_version=API_VERSION,
                kind="LocalQueue",
                metadata={"name": args.queue_name, "namespace": team.namespace},
                spec={"clusterQueue": CLUSTER_QUEUE},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[queue, *args.team_namespaces]),
            )
        self.cluster_queue = queue.metadata.apply(lambda m: m["name"])
        self.register_outputs({"clusterQueue": self.cluster_queue})

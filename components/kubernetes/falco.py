"""Falco: runtime threat detection on every node of the on-prem cluster, at a pinned chart version.

The clouds detect container threats with their providers' services (GuardDuty EKS runtime monitoring, Defender for
Containers); on-prem nothing does until this runs. The ``falco`` chart (:data:`components.versions.FALCO`) runs a
DaemonSet that watches every node's system calls with the **modern eBPF** probe (CO-RE, built into Falco: no kernel
module, no driver download, no kernel headers on the nodes), in least-privileged mode (``CAP_BPF``,
``CAP_PERFMON``, ``CAP_SYS_RESOURCE``, ``CAP_SYS_PTRACE`` instead of a privileged container), with Falco's default
rules (shell in a container, sensitive file reads, unexpected outbound connections, privilege escalation, ...).

Alerts go to standard output as JSON, so the node's log collector ships them with the pods' logs; Falcosidekick and
the Kubernetes metadata collector stay off (no extra service, no API-server egress). The DaemonSet tolerates every
taint so GPU and control-plane nodes are watched too. Its namespace is ``system`` tier with PSA ``privileged``
enforced (eBPF needs capabilities no PSA level below admits; audit/warn stay ``restricted``) and default-deny
ingress and egress: Falco reads the container runtime's local socket and needs no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components import versions
from components.kubernetes.helm import pinned_release
from components.kubernetes.namespace import SecureNamespace, SecureNamespaceArgs

NAMESPACE = "falco"
DRIVER = "modern_ebpf"


def falco_values() -> dict[str, Any]:
    """The chart's values: modern eBPF, least privilege, JSON alerts on stdout, every node."""
    return {
        "driver": {"kind": DRIVER, "modernEbpf": {"leastPrivileged": True}},
        "tty": False,
        "falco": {
            "json_output": True,
            "json_include_output_property": True,
            "log_stderr": True,
            "stdout_output": {"enabled": True},
            "priority": "notice",
        },
        "falcosidekick": {"enabled": False},
        "collectors": {"kubernetes": {"enabled": False}},
        "tolerations": [{"operator": "Exists"}],
        "resources": {"requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"cpu": "1000m", "memory": "1024Mi"}},
    }


@dataclass
class FalcoArgs:
    pod_security_version: str
    """PSA policy version for Falco's namespace (``v1.33``)."""
    chart: versions.HelmChart = versions.FALCO
    namespace: str = NAMESPACE


class Falco(pulumi.ComponentResource):
    """Falco's namespace and its pinned Helm release."""

    release: Any

    def __init__(self, name: str, args: FalcoArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:kubernetes:Falco", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace = SecureNamespace(
            f"{name}-ns",
            SecureNamespaceArgs(
                name=args.namespace,
                pod_security_version=args.pod_security_version,
                tier="system",
                pod_security="privileged",
            ),
            opts=child,
        )
        self.release = pinned_release(name, "falco", args.chart, namespace.name, opts=child, values=falco_values())
        self.register_outputs({"namespace": namespace.name})

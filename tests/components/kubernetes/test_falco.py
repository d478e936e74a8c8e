"""Falco on-prem: the pinned chart, modern eBPF in least privilege, its own system-tier namespace."""

from __future__ import annotations

from components import versions
from components.kubernetes.falco import Falco, FalcoArgs
from tests.conftest import of_type, one, run_mocked


def test_falco_is_the_pinned_chart_with_the_modern_ebpf_driver_in_a_system_namespace():
    result = run_mocked(lambda: Falco("falco", FalcoArgs(pod_security_version="v1.33")))
    release = one(result, "kubernetes:helm.sh/v3:Release").inputs
    assert (release["chart"], release["version"]) == ("falco", versions.FALCO.version)
    assert release["repositoryOpts"]["repo"] == versions.FALCO.repository
    assert release["namespace"] == "falco" and release["createNamespace"] is False
    values = release["values"]
    assert values["driver"] == {"kind": "modern_ebpf", "modernEbpf": {"leastPrivileged": True}}
    assert values["falcosidekick"]["enabled"] is False and values["tolerations"] == [{"operator": "Exists"}]
    labels = one(result, "kubernetes:core/v1:Namespace").inputs["metadata"]["labels"]
    assert labels["mlops.platform/tier"] == "system"
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"
    policies = {p.inputs["metadata"]["name"] for p in of_type(result, "kubernetes:networking.k8s.io/v1:NetworkPolicy")}
    assert "default-deny" in policies

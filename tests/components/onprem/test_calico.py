"""On-prem NetworkPolicy engine: the pinned tigera-operator chart and the Calico Installation it reconciles."""

from __future__ import annotations

import pytest

from components import versions
from components.onprem.calico import CalicoNetwork, CalicoNetworkArgs
from tests.conftest import of_type, one, run_mocked

RELEASE = "kubernetes:helm.sh/v3:Release"
INSTALLATION = "kubernetes:operator.tigera.io/v1:Installation"


@pytest.fixture(scope="module")
def calico():
    return run_mocked(
        lambda: CalicoNetwork("calico", CalicoNetworkArgs(pod_security_version="v1.33", pod_cidr="10.244.0.0/16"))
    )


def test_operator_chart_is_pinned_into_its_own_namespace(calico):
    release = one(calico, RELEASE).inputs
    assert release["chart"] == versions.CALICO.name
    assert release["repositoryOpts"] == {"repo": versions.CALICO.repository}
    assert release["version"] == versions.CALICO.version and versions.CALICO.version.startswith("v3.")
    assert release["namespace"] == "tigera-operator" and release["createNamespace"] is False
    assert release["values"]["installation"] == {"enabled": False}
    namespace = one(calico, "kubernetes:core/v1:Namespace").inputs["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "privileged"
    assert namespace["pod-security.kubernetes.io/audit"] == "restricted"


def test_installation_runs_calico_cni_on_the_stack_pod_range(calico):
    installation = one(calico, INSTALLATION)
    assert installation.inputs["metadata"] == {"name": "default"}
    spec = installation.inputs["spec"]
    assert spec["cni"] == {"type": "Calico", "ipam": {"type": "Calico"}}
    [pool] = spec["calicoNetwork"]["ipPools"]
    assert pool["cidr"] == "10.244.0.0/16" and pool["encapsulation"] == "VXLAN"
    component = one(calico, "mlops:onprem:CalicoNetwork")
    assert all(r.parent == component.urn for r in [*of_type(calico, RELEASE), installation])


def test_bad_pod_range_is_refused():
    with pytest.raises(ValueError, match="pod_cidr: 'pods' is not an IP network"):
        CalicoNetworkArgs(pod_security_version="v1.33", pod_cidr="pods")

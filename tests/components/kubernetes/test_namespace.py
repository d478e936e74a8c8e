"""SecureNamespace: PSA labels pinned to a version, default-deny both ways, DNS egress the only allowance."""

from __future__ import annotations

from components.kubernetes.namespace import SecureNamespace, SecureNamespaceArgs, pod_security_labels, psa_version
from tests.conftest import of_type, one, run_mocked

NP = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def test_psa_version_pins_major_minor() -> None:
    assert psa_version("1.33") == "v1.33"
    assert psa_version("v1.31.4") == "v1.31"


def test_restricted_namespace_denies_all_but_dns() -> None:
    result = run_mocked(
        lambda: SecureNamespace("team", SecureNamespaceArgs(name="team-a", pod_security_version="v1.33"))
    )
    ns = one(result, "kubernetes:core/v1:Namespace")
    assert ns.inputs["metadata"]["name"] == "team-a"
    labels = ns.inputs["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "v1.33"
    policies = {p.inputs["metadata"]["name"]: p.inputs for p in of_type(result, NP)}
    assert set(policies) == {"default-deny", "allow-dns-egress"}
    deny = policies["default-deny"]["spec"]
    assert deny["podSelector"] == {} and deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny and "egress" not in deny
    dns = policies["allow-dns-egress"]["spec"]
    assert dns["policyTypes"] == ["Egress"]
    (rule,) = dns["egress"]
    assert {p["port"] for p in rule["ports"]} == {53}
    assert rule["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
    assert all(p.inputs["metadata"]["namespace"] == "team-a" for p in of_type(result, NP))
    assert not result.unknown_inputs


def test_weaker_enforce_level_keeps_restricted_audit_and_warn() -> None:
    labels = pod_security_labels("baseline", "v1.33")
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/audit"] == labels["pod-security.kubernetes.io/warn"] == "restricted"


def test_open_egress_drops_the_dns_policy_and_denies_ingress_only() -> None:
    args = SecureNamespaceArgs(name="ops", pod_security_version="v1.33", deny_egress=False)
    result = run_mocked(lambda: SecureNamespace("ops", args))
    (policy,) = of_type(result, NP)
    assert policy.inputs["spec"]["policyTypes"] == ["Ingress"]


def test_extra_labels_cannot_override_pod_security() -> None:
    args = SecureNamespaceArgs(
        name="x", pod_security_version="v1.33", labels={"pod-security.kubernetes.io/enforce": "privileged", "team": "a"}
    )
    result = run_mocked(lambda: SecureNamespace("x", args))
    labels = one(result, "kubernetes:core/v1:Namespace").inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted" and labels["team"] == "a"

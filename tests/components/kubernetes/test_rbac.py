"""PlatformRbac: the configured IdP groups bound to least-privilege roles; wildcards for platform-admin only."""

from __future__ import annotations

import pytest

from components.kubernetes.baseline import ClusterBaseline
from components.kubernetes.rbac import ROLE_RULES
from infra.targets.args import cluster_baseline_args
from policies.preview.model import PreviewResult
from tests.components.kubernetes.helpers import stack_config
from tests.conftest import of_type, run_mocked

RBAC = "kubernetes:rbac.authorization.k8s.io/v1"
ADMINS = ["CN=MLOps-Platform-Admins,OU=Groups,DC=corp,DC=example"]
ENGINEERS = ["CN=MLOps-ML-Engineers,OU=Groups,DC=corp,DC=example"]
SCIENTISTS = ["CN=MLOps-Data-Scientists,OU=Groups,DC=corp,DC=example"]
WORKLOAD_NAMESPACES = {"ml-pipelines", "ml-serving", "feature-store", "ml-workspace"}


@pytest.fixture(scope="module")
def result() -> PreviewResult:
    return run_mocked(lambda: ClusterBaseline("baseline", cluster_baseline_args(stack_config())))


def roles(result: PreviewResult) -> dict[str, list[dict]]:
    return {r.inputs["metadata"]["name"]: r.inputs["rules"] for r in of_type(result, f"{RBAC}:ClusterRole")}


def bindings(result: PreviewResult) -> list[tuple[str | None, str, list[str]]]:
    """(namespace or None, role, group names) for every binding; asserts all subjects are IdP groups."""
    found = []
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        for b in of_type(result, f"{RBAC}:{kind}"):
            assert all(
                s["kind"] == "Group" and s["apiGroup"] == "rbac.authorization.k8s.io" for s in b.inputs["subjects"]
            )
            assert b.inputs["roleRef"]["kind"] == "ClusterRole"
            found.append(
                (
                    b.inputs["metadata"].get("namespace"),
                    b.inputs["roleRef"]["name"],
                    [s["name"] for s in b.inputs["subjects"]],
                )
            )
    return found


def test_platform_roles_exist(result: PreviewResult) -> None:
    assert set(roles(result)) == {
        "mlops:ml-engineer",
        "mlops:data-scientist",
        "mlops:pipeline-submitter",
        "mlops:cluster-viewer",
    }


def test_no_role_defined_here_has_a_wildcard(result: PreviewResult) -> None:
    for name, rules in roles(result).items():
        for rule in rules:
            for key in ("verbs", "resources", "apiGroups", "nonResourceURLs"):
                assert "*" not in rule.get(key, []), f"{name}: wildcard {key} in {rule}"


def test_platform_admins_alone_are_bound_to_cluster_admin(result: PreviewResult) -> None:
    admin = [(ns, groups) for ns, role, groups in bindings(result) if role == "cluster-admin"]
    assert admin == [(None, ADMINS)]


def test_engineers_manage_workloads_only_in_ml_namespaces(result: PreviewResult) -> None:
    namespaced = {ns for ns, role, groups in bindings(result) if role == "mlops:ml-engineer" and groups == ENGINEERS}
    assert namespaced == WORKLOAD_NAMESPACES
    assert not [b for b in bindings(result) if b[1] == "mlops:ml-engineer" and b[0] is None]


def test_data_scientists_read_and_submit_pipelines_where_pipelines_run(result: PreviewResult) -> None:
    found = bindings(result)
    read = {ns for ns, role, groups in found if role == "mlops:data-scientist" and groups == SCIENTISTS}
    submit = {ns for ns, role, groups in found if role == "mlops:pipeline-submitter" and groups == SCIENTISTS}
    assert read == WORKLOAD_NAMESPACES
    assert submit == {"ml-pipelines", "ml-workspace"}


def test_data_scientist_role_is_read_only() -> None:
    verbs = {v for rule in ROLE_RULES["mlops:data-scientist"] for v in rule["verbs"]}
    assert verbs <= {"get", "list", "watch", "readArtifact"}
    submit = {v for rule in ROLE_RULES["mlops:pipeline-submitter"] for v in rule["verbs"]}
    assert submit <= {"create", "terminate", "retry"}
    assert {g for rule in ROLE_RULES["mlops:pipeline-submitter"] for g in rule["apiGroups"]} == {
        "pipelines.kubeflow.org"
    }


@pytest.mark.parametrize(
    "role", ["mlops:ml-engineer", "mlops:data-scientist", "mlops:pipeline-submitter", "mlops:cluster-viewer"]
)
def test_non_admin_roles_cannot_touch_secrets_rbac_or_escalate(role: str) -> None:
    for rule in ROLE_RULES[role]:
        assert "secrets" not in rule.get("resources", []), rule
        assert "rbac.authorization.k8s.io" not in rule.get("apiGroups", []), rule
        assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"]), rule
        if "networkpolicies" in rule.get("resources", []):
            assert set(rule["verbs"]) <= {"get", "list", "watch"}

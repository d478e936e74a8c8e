"""Release admission: the policies' CEL evaluated for real (cel-python, in ``.venv-cel``: it cannot share ``.venv``), and the objects the stacks plan (identities, RBAC, policies, bindings)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from components.security.admission import (
    APPROVALS,
    approvals_policy_spec,
    isvc_policy_spec,
)
from tests import venvs

CEL_PYTHON = Path(os.environ.get("MLOPS_CEL_PYTHON", str(venvs.CEL_PYTHON)))
"""A Python with ``cel-python`` (``make setup`` builds ``.venv-cel``; ``MLOPS_CEL_PYTHON`` names another)."""
EVALUATOR = Path(__file__).with_name("cel_eval.py")
DEPLOYER = "system:serviceaccount:kubeflow:pipeline-deployer"
GATE = "system:serviceaccount:kubeflow:release-gate"
RUNNER = "system:serviceaccount:kubeflow:pipeline-runner"
SHA = "ab" * 32
KEY = f"credit-risk.{SHA}"
ISVC = isvc_policy_spec(
    deployer=DEPLOYER,
    runtime="mlops-credit-risk-oip",
    model_service_account="model-serving",
    serving_root="s3://mlops-models",
)
APPROVALS_SPEC = approvals_policy_spec(gate=GATE, approver_groups=["platform-admins"])


def evaluate(spec, *, user, operation="CREATE", obj=None, old=None, params=None, groups=()):
    venvs.require(CEL_PYTHON, "the CEL evaluator's environment")
    case = {
        "spec": spec,
        "request": {"operation": operation, "userInfo": {"username": user, "groups": list(groups)}},
        "object": obj,
        "oldObject": old,
        "params": params,
    }
    proc = subprocess.run(
        [str(CEL_PYTHON), str(EVALUATOR)],
        input=json.dumps(case),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def isvc(version="run-1", sha=SHA, uri=None, **predictor):
    model = {
        "runtime": "mlops-credit-risk-oip",
        "storageUri": uri or f"s3://mlops-models/credit-risk/{version}/",
        "env": [{"name": "MLOPS_MODEL_VERSION", "value": version}, {"name": "MLOPS_MODEL_SHA256", "value": sha}],
    }
    return {
        "metadata": {"name": "credit-risk"},
        "spec": {"predictor": {"serviceAccountName": "model-serving", "model": model, **predictor}},
    }


APPROVED = {"data": {KEY: "run-1"}}


def test_the_deploy_identity_deploys_a_gate_approved_version():
    assert evaluate(ISVC, user=DEPLOYER, obj=isvc(), params=APPROVED) == []


@pytest.mark.parametrize("user", [RUNNER, "alice@example.com", "system:serviceaccount:ml-serving:default"])
def test_no_other_identity_may_change_what_is_served(user):
    assert evaluate(ISVC, user=user, obj=isvc(), params=APPROVED) == [
        f"only the deploy identity ({DEPLOYER}) may create or change InferenceServices"
    ]


@pytest.mark.parametrize(
    ("obj", "params", "expected"),
    [
        (isvc(), {"data": {}}, "is not a gate-approved version"),
        (isvc(), None, "is not a gate-approved version"),
        (isvc(sha="cd" * 32), APPROVED, "is not a gate-approved version"),
        (isvc(version="run-2"), APPROVED, "is not a gate-approved version"),
        (isvc(uri="s3://elsewhere/credit-risk/run-1/"), APPROVED, "storageUri must be"),
        (isvc(uri="s3://mlops-models/credit-risk/run-2/"), APPROVED, "storageUri must be"),
        (isvc(containers=[{"name": "x", "image": "evil"}]), APPROVED, "no custom containers"),
    ],
)
def test_only_the_approved_bytes_at_their_version_path_are_admitted(obj, params, expected):
    failed = evaluate(ISVC, user=DEPLOYER, obj=obj, params=params)
    assert failed and any(expected in str(f) for f in failed), failed


def test_another_runtime_or_service_account_is_refused():
    obj = isvc()
    obj["spec"]["predictor"]["model"]["runtime"] = "kserve-torchserve"
    assert any("runtime" in f for f in evaluate(ISVC, user=DEPLOYER, obj=obj, params=APPROVED))
    obj = isvc(serviceAccountName="default")
    assert any("ServiceAccount" in f for f in evaluate(ISVC, user=DEPLOYER, obj=obj, params=APPROVED))


def test_a_cluster_that_requires_human_approval_needs_the_sign_off():
    required = {"data": {KEY: "run-1", "require-human-approval": "true"}}
    assert any("human approval" in f for f in evaluate(ISVC, user=DEPLOYER, obj=isvc(), params=required))
    signed = {"data": {**required["data"], f"{KEY}.approved-by": "carol@example.com"}}
    assert evaluate(ISVC, user=DEPLOYER, obj=isvc(), params=signed) == []


def test_metadata_only_updates_are_not_judged():
    obj = isvc()
    assert (
        evaluate(
            ISVC,
            user="system:serviceaccount:kserve:kserve-controller-manager",
            operation="UPDATE",
            obj=obj,
            old=obj,
            params=APPROVED,
        )
        == "not-matched"
    )


def cm(data=None):
    return {"metadata": {"name": APPROVALS}, **({"data": data} if data is not None else {})}


def test_the_gate_appends_approvals_and_nobody_else_does():
    new = cm({KEY: "run-1"})
    assert evaluate(APPROVALS_SPEC, user=GATE, operation="UPDATE", obj=new, old=cm()) == []
    for user in (RUNNER, DEPLOYER, "alice@example.com"):
        assert evaluate(APPROVALS_SPEC, user=user, operation="UPDATE", obj=new, old=cm()) == [
            f"only the release gate ({GATE}) or a release approver may add approvals"
        ]


@pytest.mark.parametrize("data", [{f"{KEY}.approved-by": GATE}, {"credit-risk.nothex": "run-1"}, {KEY: "bad version!"}])
def test_the_gate_writes_only_well_formed_approvals(data):
    failed = evaluate(APPROVALS_SPEC, user=GATE, operation="UPDATE", obj=cm(data), old=cm())
    assert failed == ["the release gate adds only <model>.<sha256> -> <version> entries"]


def test_approvals_are_append_only_and_never_deleted():
    old = cm({KEY: "run-1"})
    assert evaluate(APPROVALS_SPEC, user=GATE, operation="UPDATE", obj=cm({KEY: "run-9"}), old=old)
    assert evaluate(APPROVALS_SPEC, user=GATE, operation="UPDATE", obj=cm({}), old=old)
    assert evaluate(APPROVALS_SPEC, user=GATE, operation="DELETE", obj=None, old=old) == [
        f"{APPROVALS} is never deleted"
    ]
    assert evaluate(APPROVALS_SPEC, user="pulumi", operation="CREATE", obj=cm(), old=None) == []
    assert evaluate(APPROVALS_SPEC, user="pulumi", operation="CREATE", obj=cm({KEY: "run-1"}), old=None)


def test_an_approver_signs_off_in_their_own_name_only():
    old = cm({KEY: "run-1"})
    own = cm({KEY: "run-1", f"{KEY}.approved-by": "carol@example.com"})
    assert (
        evaluate(
            APPROVALS_SPEC, user="carol@example.com", groups=["platform-admins"], operation="UPDATE", obj=own, old=old
        )
        == []
    )
    assert evaluate(
        APPROVALS_SPEC, user="mallory@example.com", groups=["platform-admins"], operation="UPDATE", obj=own, old=old
    )
    assert evaluate(
        APPROVALS_SPEC, user="carol@example.com", groups=["ml-engineers"], operation="UPDATE", obj=own, old=old
    )
    unapproved = cm({f"credit-risk.{'cd' * 32}.approved-by": "carol@example.com", KEY: "run-1"})
    assert evaluate(
        APPROVALS_SPEC,
        user="carol@example.com",
        groups=["platform-admins"],
        operation="UPDATE",
        obj=unapproved,
        old=old,
    ), "a sign-off needs the gate's approval first"


@pytest.fixture(scope="module")
def onprem():
    from policies.preview.runner import preview_stack

    return preview_stack("onprem-dc1")


def _one(result, type_, name):
    (res,) = [r for r in result.resources if r.type == type_ and r.name == name]
    return res.inputs


def test_the_stack_plans_both_policies_failing_closed(onprem):
    vap = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
    binding = vap + "Binding"
    isvc_policy = _one(onprem, vap, "release-admission-isvc")
    assert isvc_policy["spec"]["failurePolicy"] == "Fail"
    assert isvc_policy["spec"]["paramKind"] == {"apiVersion": "v1", "kind": "ConfigMap"}
    bound = _one(onprem, binding, "release-admission-isvc")["spec"]
    assert bound["validationActions"] == ["Deny"]
    assert bound["paramRef"] == {"name": APPROVALS, "namespace": "ml-serving", "parameterNotFoundAction": "Deny"}
    assert _one(onprem, binding, "release-admission-approvals")["spec"]["validationActions"] == ["Deny"]
    assert _one(onprem, vap, "release-admission-approvals")["spec"]["failurePolicy"] == "Fail"


def test_training_and_deploy_identities_differ_and_only_the_deployer_writes_inference_services(onprem):
    role = "kubernetes:rbac.authorization.k8s.io/v1:"
    deployer = _one(onprem, role + "RoleBinding", "services-kserve-deployer")
    assert deployer["subjects"] == [{"kind": "ServiceAccount", "name": "pipeline-deployer", "namespace": "kubeflow"}]
    engineer = _one(onprem, role + "ClusterRole", "baseline-rbac-ml-engineer")
    kserve = [r for r in engineer["rules"] if r["apiGroups"] == ["serving.kserve.io"]]
    assert kserve and all(set(r["verbs"]) <= {"get", "list", "watch"} for r in kserve)
    gate = _one(onprem, role + "RoleBinding", "release-admission-gate")
    assert gate["subjects"][0]["name"] == "release-gate"


def test_the_deploy_identity_must_not_be_the_training_identity():
    import pulumi

    from components.security.admission import ReleaseAdmission, ReleaseAdmissionArgs

    args = ReleaseAdmissionArgs(
        serving_namespace="ml-serving",
        pipelines_namespace="kubeflow",
        models_serving_root="s3://m",
        runtime="r",
        model_service_account="model-serving",
        approver_groups=["a"],
        training_service_account="pipeline-runner",
        deployer_service_account="pipeline-runner",
    )
    with pytest.raises(ValueError, match="three different identities"):
        ReleaseAdmission("x", args, opts=pulumi.ResourceOptions())


def test_env_names_match_the_model_server():
    from components.security import admission
    from pipelines.serving import runtime

    assert (admission.VERSION_ENV, admission.SHA256_ENV) == (runtime.VERSION_ENV, runtime.SHA256_ENV)

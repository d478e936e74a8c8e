"""Release admission: the API server admits an InferenceService only from the deploy identity, only for a model
version the release gate approved, and (optionally) only after a human approver signed it off.

Identities (ServiceAccounts in KFP's namespace, each with a token Secret that the pipeline mounts into ONE task):
- ``pipeline-runner`` (upstream KFP) trains; it has no right on InferenceServices or on the approvals.
- ``release-gate`` records approvals: the gate-approved model's ``<model>.<sha256>`` -> ``<version>`` in the
  ConfigMap ``release-approvals`` of the serving namespace (RBAC: that one ConfigMap, get/patch/update).
- ``pipeline-deployer`` writes InferenceServices in the serving namespace (the RBAC is KServe's deployer Role).

Two ValidatingAdmissionPolicies (admissionregistration.k8s.io/v1, built into Kubernetes >= 1.30, so the policy
engine is pinned by the cluster version; no webhook to run or pin), both ``failurePolicy: Fail`` and bound with
``validationActions: [Deny]``:
- ``mlops-release-admission`` (InferenceServices, cluster-wide, CREATE/UPDATE that change the spec): the requester is
  the deploy identity; the predictor is a ``model`` on the platform runtime with the model-server ServiceAccount (no
  custom containers, transformers, explainers or ``storage`` specs); the ``MLOPS_MODEL_SHA256``/``MLOPS_MODEL_VERSION``
  the runtime verifies the bytes against are an approved ``<name>.<sha256>`` -> ``<version>`` in the approvals
  (its ``paramRef``, missing: Deny); ``storageUri`` is exactly ``<models bucket>/<name>/<version>/``; when the
  approvals say ``require-human-approval: "true"``, ``<name>.<sha256>.approved-by`` is present.
- ``mlops-release-approvals`` (the ConfigMap ``release-approvals`` in the serving namespace): created empty (or with
  only ``require-human-approval``), never deleted, entries never changed or removed; new entries come only from the
  release-gate identity (``<model>.<sha256>`` -> version) or from a member of an approver group
  (``<model>.<sha256>.approved-by`` -> the approver's own authenticated user name, for an existing approval).
See docs/security-release-admission.md for what this proves and what it does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi

from components.errors import InputError
from components.identities import DEPLOYER_SERVICE_ACCOUNT, GATE_SERVICE_ACCOUNT

APPROVALS = "release-approvals"
"""The ConfigMap (serving namespace) holding the approvals: the admission policy's parameters."""
HUMAN_APPROVAL_KEY = "require-human-approval"
APPROVED_BY = ".approved-by"
ISVC_POLICY = "mlops-release-admission"
APPROVALS_POLICY = "mlops-release-approvals"
VERSION_ENV = "MLOPS_MODEL_VERSION"
SHA256_ENV = "MLOPS_MODEL_SHA256"
"""The model server verifies the bytes it loads against these (``pipelines.serving.runtime``; a test keeps them
equal)."""
KEY_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.[0-9a-f]{64}$"
"""``<model name>.<sha256>``: a DNS label (an InferenceService name) and the artifact's sha256."""
VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"
"""What the model store accepts as a version (``pipelines.serving.model_store``)."""


def service_account_user(namespace: str, name: str) -> str:
    """How the API server names a ServiceAccount in ``request.userInfo.username``."""
    return f"system:serviceaccount:{namespace}:{name}"


def _quote(value: str) -> str:
    """A CEL string literal (single quotes; the values here are names and patterns without quotes)."""
    if "'" in value or "\\" in value or "\n" in value:
        raise InputError(f"{value!r} cannot be embedded in a CEL expression")
    return f"'{value}'"


def _list(values: Sequence[str]) -> str:
    return "[" + ", ".join(_quote(v) for v in values) + "]"


def isvc_policy_spec(*, deployer: str, runtime: str, model_service_account: str, serving_root: str) -> dict:
    """The InferenceService policy: who may change what is served, and only to a gate-approved version."""
    model = "object.spec.predictor.model"
    root = serving_root.rstrip("/")
    return {
        "failurePolicy": "Fail",
        "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
        "matchConstraints": {
            "resourceRules": [
                {
                    "apiGroups": ["serving.kserve.io"],
                    "apiVersions": ["*"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": ["inferenceservices"],
                }
            ],
        },
        # Metadata-only updates (KServe's finalizer, the deployer's outcome annotations) cannot change what is served.
        "matchConditions": [
            {"name": "spec-changes", "expression": "request.operation == 'CREATE' || object.spec != oldObject.spec"}
        ],
        "variables": [
            {"name": "env", "expression": f"has({model}) && has({model}.env) ? {model}.env : []"},
            {
                "name": "sha",
                "expression": f"variables.env.filter(e, e.name == '{SHA256_ENV}' && has(e.value)).map(e, e.value)",
            },
            {
                "name": "version",
                "expression": f"variables.env.filter(e, e.name == '{VERSION_ENV}' && has(e.value)).map(e, e.value)",
            },
            {
                "name": "key",
                "expression": "object.metadata.name + '.' + (size(variables.sha) == 1 ? variables.sha[0] : '-')",
            },
            {"name": "approvals", "expression": "has(params.data) ? params.data : {}"},
        ],
        "validations": [
            {
                "expression": f"request.userInfo.username == {_quote(deployer)}",
                "message": f"only the deploy identity ({deployer}) may create or change InferenceServices",
                "reason": "Forbidden",
            },
            {
                "expression": "!has(object.spec.transformer) && !has(object.spec.explainer) && "
                "!has(object.spec.predictor.containers)",
                "message": "an InferenceService may serve only a predictor model: no custom containers, transformers "
                "or explainers",
            },
            {
                "expression": f"has({model}) && has({model}.runtime) && {model}.runtime == {_quote(runtime)} && "
                f"!has({model}.storage) && has(object.spec.predictor.serviceAccountName) && "
                f"object.spec.predictor.serviceAccountName == {_quote(model_service_account)}",
                "message": f"the predictor must be a model on the runtime {runtime} (which verifies the model's "
                f"sha256) run by the ServiceAccount {model_service_account}",
            },
            {
                "expression": "size(variables.sha) == 1 && size(variables.version) == 1",
                "message": f"the predictor model must set {SHA256_ENV} and {VERSION_ENV} exactly once",
            },
            {
                "expression": "variables.key in variables.approvals && "
                "size(variables.version) == 1 && variables.approvals[variables.key] == variables.version[0]",
                "messageExpression": "'model ' + variables.key + ' is not a gate-approved version ' + "
                "(size(variables.version) == 1 ? variables.version[0] : '') + "
                f"' (no entry in the ConfigMap {APPROVALS})'",
            },
            {
                "expression": f"size(variables.version) == 1 && has({model}.storageUri) && {model}.storageUri == "
                f"{_quote(root + '/')} + object.metadata.name + '/' + variables.version[0] + '/'",
                "message": f"storageUri must be the approved version's copy in the models bucket: "
                f"{root}/<name>/<version>/",
            },
            {
                "expression": f"!('{HUMAN_APPROVAL_KEY}' in variables.approvals) || "
                f"variables.approvals['{HUMAN_APPROVAL_KEY}'] != 'true' || "
                f"(variables.key + '{APPROVED_BY}') in variables.approvals",
                "messageExpression": f"'model ' + variables.key + ' has no human approval ({APPROVED_BY}); this "
                f"cluster requires one'",
            },
        ],
    }


def approvals_policy_spec(*, gate: str, approver_groups: Sequence[str]) -> dict:
    """The approvals ConfigMap's own policy: append-only, gate entries from the gate, sign-offs from approvers."""
    added = "variables.new.filter(k, !(k in variables.old) || variables.old[k] != variables.new[k])"
    return {
        "failurePolicy": "Fail",
        "matchConstraints": {
            "resourceRules": [
                {
                    "apiGroups": [""],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE", "DELETE"],
                    "resources": ["configmaps"],
                }
            ],
        },
        "matchConditions": [
            {
                "name": "approvals-only",
                "expression": f"(request.operation == 'DELETE' ? oldObject : object).metadata.name == '{APPROVALS}'",
            }
        ],
        "variables": [
            {"name": "old", "expression": "request.operation != 'CREATE' && has(oldObject.data) ? oldObject.data : {}"},
            {"name": "new", "expression": "request.operation != 'DELETE' && has(object.data) ? object.data : {}"},
            {"name": "added", "expression": added},
            {
                "name": "approver",
                "expression": f"has(request.userInfo.groups) && "
                f"request.userInfo.groups.exists(g, g in {_list(approver_groups)})",
            },
        ],
        "validations": [
            {"expression": "request.operation != 'DELETE'", "message": f"{APPROVALS} is never deleted"},
            {
                "expression": f"request.operation != 'CREATE' || variables.new.all(k, k == '{HUMAN_APPROVAL_KEY}')",
                "message": f"{APPROVALS} is created empty (or with {HUMAN_APPROVAL_KEY} only)",
            },
            {
                "expression": "request.operation != 'UPDATE' || "
                "variables.old.all(k, k in variables.new && variables.new[k] == variables.old[k])",
                "message": f"entries of {APPROVALS} are never changed or removed",
            },
            {
                "expression": f"request.operation != 'UPDATE' || size(variables.added) == 0 || "
                f"request.userInfo.username == {_quote(gate)} || variables.approver",
                "message": f"only the release gate ({gate}) or a release approver may add approvals",
            },
            {
                "expression": f"request.userInfo.username != {_quote(gate)} || variables.added.all(k, "
                f"k.matches('{KEY_PATTERN}') && variables.new[k].matches('{VERSION_PATTERN}'))",
                "message": "the release gate adds only <model>.<sha256> -> <version> entries",
            },
            {
                "expression": f"request.userInfo.username == {_quote(gate)} || !variables.approver || "
                f"variables.added.all(k, k.endsWith('{APPROVED_BY}') && "
                f"variables.new[k] == request.userInfo.username && "
                f"variables.new.exists(a, a + '{APPROVED_BY}' == k && a.matches('{KEY_PATTERN}')))",
                "message": f"an approver adds only <model>.<sha256>{APPROVED_BY} -> their own user name, for a "
                f"gate-approved version",
            },
        ],
    }


@dataclass
class ReleaseAdmissionArgs:
    serving_namespace: str
    """Where InferenceServices are served (the approvals ConfigMap lives there)."""
    pipelines_namespace: str
    """KFP's namespace: where the gate and deploy identities (and their token Secrets) live."""
    models_serving_root: pulumi.Input[str]
    """The URI KServe reads the models bucket's versions from (``ModelStore.serving_root`` of its models URI);
    an admitted InferenceService's storageUri is ``<this>/<name>/<version>/``."""
    runtime: str
    """The ServingRuntime that verifies the model's sha256 (``components.services.kserve.RUNTIME_NAME``)."""
    model_service_account: str
    """The model servers' ServiceAccount (``components.services.kserve.MODEL_SERVER_ACCOUNT``)."""
    approver_groups: Sequence[str]
    """IdP groups whose members may sign off a release (the platform-admin groups)."""
    training_service_account: str
    """KFP's ``pipeline-runner``: refused as the deploy or gate identity (they must differ)."""
    require_human_approval: bool = False
    """Written once into the approvals: the API server then admits only versions an approver signed off."""
    deployer_service_account: str = DEPLOYER_SERVICE_ACCOUNT
    gate_service_account: str = GATE_SERVICE_ACCOUNT
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)
    """What must exist first (the namespaces)."""


class ReleaseAdmission(pulumi.ComponentResource):
    """Deploy and gate identities, the approvals ConfigMap and the two admission policies with their bindings."""

    deployer: str
    gate: str

    def __init__(self, name: str, args: ReleaseAdmissionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        identities = {args.deployer_service_account, args.gate_service_account}
        if args.training_service_account in identities or len(identities) != 2:
            raise InputError(
                f"ReleaseAdmissionArgs: the deploy ({args.deployer_service_account}), gate "
                f"({args.gate_service_account}) and training ({args.training_service_account}) "
                "ServiceAccounts must be three different identities"
            )
        if not args.approver_groups:
            raise InputError("ReleaseAdmissionArgs.approver_groups: at least one IdP group must be able to approve")
        super().__init__("mlops:security:ReleaseAdmission", name, None, opts)
        from pulumi_kubernetes.admissionregistration.v1 import (
            ValidatingAdmissionPolicy,
            ValidatingAdmissionPolicyBinding,
        )
        from pulumi_kubernetes.core.v1 import ConfigMap, Secret, ServiceAccount
        from pulumi_kubernetes.rbac.v1 import Role, RoleBinding

        first = pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on))
        labels = {"app.kubernetes.io/part-of": "mlops-platform", "app.kubernetes.io/component": "release-admission"}
        ns, serving = args.pipelines_namespace, args.serving_namespace
        self.deployer = service_account_user(ns, args.deployer_service_account)
        self.gate = service_account_user(ns, args.gate_service_account)
        for key, account in (("deployer", args.deployer_service_account), ("gate", args.gate_service_account)):
            sa = ServiceAccount(
                f"{name}-{key}",
                metadata={"name": account, "namespace": ns, "labels": labels},
                automount_service_account_token=False,
                opts=first,
            )
            # A long-lived token the pipeline mounts into the one task that acts as this identity (KFP v2 runs
            # every task as pipeline-runner); the API server fills it in and invalidates it with the account.
            Secret(
                f"{name}-{key}-token",
                type="kubernetes.io/service-account-token",
                metadata={
                    "name": f"{account}-token",
                    "namespace": ns,
                    "labels": labels,
                    "annotations": {"kubernetes.io/service-account.name": account},
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[sa]),
            )
        approvals = ConfigMap(
            f"{name}-approvals",
            metadata={"name": APPROVALS, "namespace": serving, "labels": labels},
            data={HUMAN_APPROVAL_KEY: "true"} if args.require_human_approval else None,
            # the gate and approvers append entries; Pulumi never rewrites them (the policy would refuse it)
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on), ignore_changes=["data"]),
        )
        gate_role = Role(
            f"{name}-gate",
            metadata={"name": "release-gate", "namespace": serving, "labels": labels},
            rules=[
                {
                    "apiGroups": [""],
                    "resources": ["configmaps"],
                    "resourceNames": [APPROVALS],
                    "verbs": ["get", "patch", "update"],
                }
            ],
            opts=first,
        )
        RoleBinding(
            f"{name}-gate",
            metadata={"name": "release-gate", "namespace": serving, "labels": labels},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": gate_role.metadata.name},
            subjects=[{"kind": "ServiceAccount", "name": args.gate_service_account, "namespace": ns}],
            opts=first,
        )
        isvc_spec = pulumi.Output.from_input(args.models_serving_root).apply(
            lambda root: isvc_policy_spec(
                deployer=self.deployer,
                runtime=args.runtime,
                model_service_account=args.model_service_account,
                serving_root=root,
            )
        )
        after_approvals = pulumi.ResourceOptions(parent=self, depends_on=[approvals])
        policies = {
            ISVC_POLICY: ValidatingAdmissionPolicy(
                f"{name}-isvc", metadata={"name": ISVC_POLICY, "labels": labels}, spec=isvc_spec, opts=after_approvals
            ),
            APPROVALS_POLICY: ValidatingAdmissionPolicy(
                f"{name}-approvals",
                metadata={"name": APPROVALS_POLICY, "labels": labels},
                spec=approvals_policy_spec(gate=self.gate, approver_groups=args.approver_groups),
                opts=after_approvals,
            ),
        }
        ValidatingAdmissionPolicyBinding(
            f"{name}-isvc",
            metadata={"name": ISVC_POLICY, "labels": labels},
            spec={
                "policyName": policies[ISVC_POLICY].metadata.name,
                "validationActions": ["Deny"],
                "paramRef": {"name": APPROVALS, "namespace": serving, "parameterNotFoundAction": "Deny"},
            },
            opts=after_approvals,
        )
        ValidatingAdmissionPolicyBinding(
            f"{name}-approvals",
            metadata={"name": APPROVALS_POLICY, "labels": labels},
            spec={
                "policyName": policies[APPROVALS_POLICY].metadata.name,
                "validationActions": ["Deny"],
                "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": serving}}},
            },
            opts=after_approvals,
        )
        self.register_outputs({"deployer": self.deployer, "gate": self.gate, "approvals": approvals.metadata.name})

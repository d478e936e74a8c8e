"""KServe model serving: the pinned upstream Helm charts (CRDs, then the controller), this project's model-server
runtime for the credit-risk models the pipelines produce, a model-reader identity, and the narrow RBAC the
pipeline's deploy step needs.

- Install: ``kserve-crd`` and ``kserve`` from KServe's OCI chart repository at the version pinned in
  :mod:`components.versions`. Prerequisites: cert-manager (KServe's admission webhooks get their certificates from
  it; the on-prem target already relies on it) and, for ``Serverless`` mode (canary traffic splitting, tag
  routing), Knative Serving with Kourier (:mod:`components.services.knative`), which KServe's install waits for.
  ``RawDeployment`` needs no Knative but cannot split traffic (docs/services.md).
- Runtime: ``mlops-credit-risk-oip`` serves model format ``credit-risk-mlp`` (the training step's ``model.pt`` +
  ``preprocessor.json``) over the Open Inference Protocol v2 with ``python -m pipelines.serving.runtime``, the image
  built from ``pipelines/serving/Dockerfile``; hardened for PSA ``restricted``.
- Identity: the ``model-serving`` ServiceAccount in the serving namespace reads the ``models`` bucket only (the deploy
  step copies each model version there before it points an InferenceService at it).
- RBAC: the deploy identity (KFP's ``pipeline-deployer`` ServiceAccount, never ``pipeline-runner``, which trains;
  :mod:`components.security.admission`) may create, update and patch InferenceServices in the serving namespace only (canary: patch ``canaryTrafficPercent``), read their status, and
  delete one whose first rollout failed; no other resource, no other namespace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi

from components import versions
from components.errors import InputError
from components.kubernetes.helm import pinned_release
from components.kubernetes.namespace import SecureNamespace, SecureNamespaceArgs, namespaces_named
from components.services.feature_server import RESTRICTED_CONTAINER
from components.services.identity import BucketGrant, IdentityBinding

CONTROLLER_NAMESPACE = "kserve"
RUNTIME_NAME = "mlops-credit-risk-oip"
MODEL_FORMAT = "credit-risk-mlp"
"""What the runtime serves: a directory with the training step's ``model.pt`` and ``preprocessor.json``."""
MODEL_SERVER_ACCOUNT = "model-serving"
"""The InferenceServices' ServiceAccount (the deploy step names it: ``pipelines/serving/kserve.py``)."""
DEPLOYER_ROLE = "inferenceservice-deployer"
MODEL_GRANTS = [BucketGrant("models", "read")]
DEPLOYER_RULES = [
    {
        "apiGroups": ["serving.kserve.io"],
        "resources": ["inferenceservices"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
    {"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices/status"], "verbs": ["get"]},
    {"apiGroups": ["serving.kserve.io"], "resources": ["servingruntimes"], "verbs": ["get", "list"]},
    {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["release-approvals"], "verbs": ["get"]},
]
"""What the deploy step may do in the serving namespace: roll out, shift traffic (canary), and remove an
InferenceService whose first version failed its health check (nothing to roll back to), and read the release
approvals (to fail early with the reason the admission policy would give). Model artifacts stay: the models bucket is
WORM."""
INFERENCE_PORT = 8080
MODEL_SERVER_PODS = {"matchExpressions": [{"key": "serving.kserve.io/inferenceservice", "operator": "Exists"}]}
"""Selects the pods of every InferenceService in the namespace (KServe labels each with its service's name)."""


def serving_runtime_spec(
    image: versions.Image, resources: dict[str, dict[str, str]], pod_labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """The ServingRuntime: this project's OIP v2 model server, non-root, read-only, no capabilities.

    ``pod_labels``: what the model servers' cloud identity needs on their pods (Azure workload identity's
    ``azure.workload.identity/use``; KServe adds a runtime's ``labels`` to its pods, storage initializer included).
    """
    health = {"httpGet": {"path": "/v2/health/ready", "port": INFERENCE_PORT}, "periodSeconds": 10}
    return {
        **({"labels": dict(pod_labels)} if pod_labels else {}),
        "supportedModelFormats": [{"name": MODEL_FORMAT, "version": "1", "autoSelect": True, "priority": 1}],
        "protocolVersions": ["v2"],
        "containers": [
            {
                "name": "kserve-container",
                "image": image.reference,
                "args": [
                    "--model-dir=/mnt/models",
                    "--model-name={{.Name}}",
                    f"--http-port={INFERENCE_PORT}",
                ],
                "env": [{"name": "HOME", "value": "/tmp"}],
                "ports": [{"name": "http1", "containerPort": INFERENCE_PORT, "protocol": "TCP"}],
                "readinessProbe": health,
                "resources": resources,
                "securityContext": {**RESTRICTED_CONTAINER, "runAsUser": 1000, "runAsGroup": 1000},
                "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
            }
        ],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
    }


@dataclass
class KServeArgs:
    serving_namespace: pulumi.Input[str]
    """The baseline's serving namespace (PSA restricted, default-deny)."""
    model_identity: IdentityBinding
    """Cloud identity of the model servers' ServiceAccount (read on the models bucket only)."""
    deployer_namespace: str
    deployer_service_account: str
    """The deploy identity (``pipeline-deployer``; the admission policy admits InferenceServices from it only)."""
    pod_security_version: str
    client_namespaces: Sequence[str]
    """Namespaces whose pods may call the models."""
    egress: Sequence[dict[str, Any]]
    """Where model servers may connect: the object store holding the models (their storage initializer)."""
    deployment_mode: Literal["Serverless", "RawDeployment"] = "Serverless"
    """``Serverless`` (Knative) supports canary traffic splitting; ``RawDeployment`` runs plain Deployments."""
    knative: Sequence[pulumi.Resource] = ()
    """Serverless only: the Knative Serving install (:class:`components.services.knative.KnativeServing`'s
    ``ready``), which KServe's install waits for; Serverless without it is refused."""
    crd_chart: versions.HelmChart = versions.KSERVE_CRD
    chart: versions.HelmChart = versions.KSERVE
    runtime_image: versions.Image = versions.MODEL_SERVER_IMAGE
    runtime_resources: dict[str, dict[str, str]] | None = None


class KServe(pulumi.ComponentResource):
    """KServe controller, the PyTorch ServingRuntime, the model servers' identity and the deploy step's RBAC."""

    namespace: pulumi.Output[str]
    runtime: str

    def __init__(self, name: str, args: KServeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if args.deployment_mode == "Serverless" and not args.knative:
            raise InputError(
                "KServeArgs: deployment_mode 'Serverless' needs Knative Serving (pass knative=, see "
                "components/services/knative.py) or use deployment_mode 'RawDeployment' (no canary)"
            )
        super().__init__("mlops:services:KServe", name, None, opts)
        from pulumi_kubernetes.apiextensions import CustomResource
        from pulumi_kubernetes.core.v1 import ServiceAccount
        from pulumi_kubernetes.networking.v1 import NetworkPolicy
        from pulumi_kubernetes.rbac.v1 import Role, RoleBinding

        child = pulumi.ResourceOptions(parent=self)
        # The controller talks to the API server, whose address differs per cluster: egress stays open here, as for
        # the GPU Operator; ingress is default-deny except the API server's calls to the admission webhook.
        controller_ns = SecureNamespace(
            f"{name}-ns",
            SecureNamespaceArgs(
                name=CONTROLLER_NAMESPACE,
                pod_security_version=args.pod_security_version,
                tier="system",
                deny_egress=False,
            ),
            opts=child,
        )
        NetworkPolicy(
            f"{name}-webhook",
            metadata={"name": "allow-admission-webhook", "namespace": controller_ns.name},
            spec={
                "podSelector": {"matchLabels": {"control-plane": "kserve-controller-manager"}},
                "policyTypes": ["Ingress"],
                "ingress": [{"ports": [{"protocol": "TCP", "port": 9443}]}],
            },
            opts=child,
        )
        crds = pinned_release(f"{name}-crd", "kserve-crd", args.crd_chart, controller_ns.name, opts=child)
        controller = pinned_release(
            name,
            "kserve",
            args.chart,
            controller_ns.name,
            timeout=900,
            values={"kserve": {"controller": controller_values(args.deployment_mode)}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[crds, *args.knative]),
        )
        ns = args.serving_namespace
        resources = args.runtime_resources or {
            "requests": {"cpu": "500m", "memory": "1Gi"},
            "limits": {"cpu": "2", "memory": "2Gi"},
        }
        CustomResource(
            f"{name}-runtime",
            api_version="serving.kserve.io/v1alpha1",
            kind="ServingRuntime",
            metadata={"name": RUNTIME_NAME, "namespace": ns},
            spec=serving_runtime_spec(args.runtime_image, resources, args.model_identity.pod_labels),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[controller]),
        )
        ServiceAccount(
            f"{name}-model-server",
            metadata={
                "name": MODEL_SERVER_ACCOUNT,
                "namespace": ns,
                "annotations": dict(args.model_identity.service_account_annotations),
            },
            # KServe's storage initializer takes object-store keys from the ServiceAccount's secrets (on-prem)
            secrets=[{"name": s} for s in args.model_identity.service_account_secrets] or None,
            automount_service_account_token=False,
            opts=child,
        )
        role = Role(
            f"{name}-deployer", metadata={"name": DEPLOYER_ROLE, "namespace": ns}, rules=DEPLOYER_RULES, opts=child
        )
        RoleBinding(
            f"{name}-deployer",
            metadata={"name": DEPLOYER_ROLE, "namespace": ns},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role.metadata.name},
            subjects=[
                {"kind": "ServiceAccount", "name": args.deployer_service_account, "namespace": args.deployer_namespace}
            ],
            opts=child,
        )
        NetworkPolicy(
            f"{name}-inference-clients",
            metadata={"name": "allow-inference-from-ml-namespaces", "namespace": ns},
            spec={
                "podSelector": MODEL_SERVER_PODS,
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [namespaces_named(*self._callers(args))]}],
            },
            opts=child,
        )
        NetworkPolicy(
            f"{name}-model-download",
            metadata={"name": "allow-model-download", "namespace": ns},
            spec={
                "podSelector": MODEL_SERVER_PODS,
                "policyTypes": ["Egress"],
                "egress": list(args.egress),
            },
            opts=child,
        )
        self.namespace = pulumi.Output.from_input(ns)
        self.runtime = RUNTIME_NAME
        self.register_outputs({"namespace": self.namespace, "runtime": self.runtime})

    @staticmethod
    def _callers(args: KServeArgs) -> list[str]:
        """Who may call the model servers: the ML namespaces, plus Knative's activator/autoscaler and Kourier's
        gateway in Serverless mode (every request reaches a revision through them)."""
        from components.services.knative import NAMESPACES

        extra = NAMESPACES if args.deployment_mode == "Serverless" else ()
        return [*args.client_namespaces, *extra]


def controller_values(deployment_mode: str) -> dict[str, Any]:
    """The controller's Helm values: the deployment mode; with Knative, Kourier instead of Istio for routing."""
    values: dict[str, Any] = {"deploymentMode": deployment_mode}
    if deployment_mode == "Serverless":
        values["gateway"] = {"disableIstioVirtualHost": True}
    return values

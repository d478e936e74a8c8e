"""Katib standalone at a pinned tag, in the pipelines namespace (``kubeflow``), for hyperparameter search.

Upstream's ``katib-standalone`` kustomization at :data:`components.versions.KATIB_VERSION`, fetched by kustomize when
``pulumi up`` runs. Its ``katib-config`` lists ``Job.v1.batch`` first among the trial kinds, so a trial is a plain
``batch/v1`` Job by default: Kueue admits it from the team's LocalQueue like any other training Job. The namespace
denies ingress by default; the only opening here is the controller's admission webhook, which the API server calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import versions

TRIAL_KIND = "Job.v1.batch"
"""The default trial kind of upstream's katib-config (a plain Job, queued by Kueue)."""
CONTROLLER_SELECTOR = {"katib.kubeflow.org/component": "controller"}
WEBHOOK_PORT = 8443


@dataclass
class KatibArgs:
    namespace: pulumi.Input[str]
    """The pipelines namespace (``kubeflow``, made by the KFP layer); upstream's kustomization fixes the name."""
    manifests: versions.Manifests = versions.KATIB


class Katib(pulumi.ComponentResource):
    """Upstream Katib and the network opening its webhook needs."""

    def __init__(self, name: str, args: KatibArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:training:Katib", name, None, opts)
        from pulumi_kubernetes.kustomize.v2 import Directory
        from pulumi_kubernetes.networking.v1 import NetworkPolicy

        install = Directory(
            f"{name}-install",
            directory=args.manifests.url,
            namespace=args.namespace,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The API server's address differs per cluster (and is outside the pod network on EKS/AKS): any source, the
        # webhook port only, the controller pods only.
        NetworkPolicy(
            f"{name}-webhook",
            metadata={"name": "allow-katib-webhook", "namespace": args.namespace},
            spec={
                "podSelector": {"matchLabels": CONTROLLER_SELECTOR},
                "policyTypes": ["Ingress"],
                "ingress": [{"ports": [{"protocol": "TCP", "port": WEBHOOK_PORT}]}],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[install]),
        )
        self.register_outputs({})

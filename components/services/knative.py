"""Knative Serving with the Kourier networking layer: what KServe's ``Serverless`` mode needs for revisions, canary
traffic splitting (``canaryTrafficPercent``) and tag routing, internal to the cluster.

- Install: upstream's release manifests at the tags pinned in :mod:`components.versions` (``serving-crds.yaml``,
  then ``serving-core.yaml``, then net-kourier's ``kourier.yaml``), applied with ``kubernetes.yaml.v2.ConfigFile``
  when ``pulumi up`` runs (nothing vendored). The KServe-compatible pair is documented in ``docs/services.md``.
- Internal only: Kourier's gateway Service, a public ``LoadBalancer`` in upstream's file, becomes ``ClusterIP``
  (or, with ``gateway_exposure="internal-load-balancer"``, an internal load balancer of the target's cloud); Knative
  is told to use Kourier and to give every Knative Service restricted pod defaults (``secure-pod-defaults``), so the
  queue-proxy sidecars pass the serving namespace's PSA ``restricted``. Changes are made with Pulumi ``transforms``
  on the manifests' objects before they are created, so no public load balancer ever exists, not even briefly.
- Namespaces: upstream's ``knative-serving`` and ``kourier-system``, labelled PSA ``baseline`` enforced with
  ``restricted`` audited and warned (as KFP's), and enrolled in the service mesh (components/security/mesh.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi

from components import versions
from components.errors import InputError
from components.kubernetes.namespace import MESH_LABELS
from components.services.kfp import INTERNAL_LB_ANNOTATIONS

SERVING_NAMESPACE = "knative-serving"
KOURIER_NAMESPACE = "kourier-system"
KOURIER_GATEWAY = "kourier"
"""Kourier's external gateway Service (``kourier-internal`` serves cluster-local routes and is ClusterIP already)."""
KOURIER_INTERNAL_SERVICE = "kourier-internal"
KOURIER_INTERNAL_PORT = 8081
"""The gateway pods' port behind ``kourier-internal`` (cluster-local routes: the InferenceServices' URLs)."""
ACTIVATOR_SERVICE_ACCOUNT = "activator"
"""The activator's ServiceAccount in upstream's serving-core.yaml: it proxies requests to the model servers."""
KOURIER_INGRESS_CLASS = "kourier.ingress.networking.knative.dev"
NAMESPACES = (SERVING_NAMESPACE, KOURIER_NAMESPACE)
"""Where Knative's activator and gateway run: they call the model servers (the serving namespace admits them)."""

Exposure = Literal["cluster", "internal-load-balancer"]


def internal_only(exposure: Exposure = "cluster", pod_security_version: str = "latest"):
    """A Pulumi transform for the upstream manifests' objects: private gateway, Kourier as Knative's ingress,
    restricted pod defaults, PSA labels on upstream's namespaces. Other objects pass unchanged."""
    if exposure not in ("cluster", "internal-load-balancer"):
        raise InputError(f"gateway_exposure must be 'cluster' or 'internal-load-balancer', got {exposure!r}")

    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        props = args.props
        kind = props.get("kind") if isinstance(props, dict) else None
        metadata = (props.get("metadata") or {}) if kind else {}
        name, namespace = metadata.get("name"), metadata.get("namespace")
        if kind == "Service" and (name, namespace) == (KOURIER_GATEWAY, KOURIER_NAMESPACE):
            spec = {k: v for k, v in (props.get("spec") or {}).items() if k not in ("externalTrafficPolicy",)}
            if exposure == "cluster":
                spec["type"] = "ClusterIP"
            else:
                spec["type"] = "LoadBalancer"
                annotations = {**(metadata.get("annotations") or {}), **INTERNAL_LB_ANNOTATIONS}
                metadata = {**metadata, "annotations": annotations}
            return pulumi.ResourceTransformResult({**props, "metadata": metadata, "spec": spec}, args.opts)
        if kind == "ConfigMap" and namespace == SERVING_NAMESPACE and name in ("config-network", "config-features"):
            data = dict(props.get("data") or {})
            if name == "config-network":
                data["ingress-class"] = KOURIER_INGRESS_CLASS
            else:
                data["secure-pod-defaults"] = "enabled"
            return pulumi.ResourceTransformResult({**props, "data": data}, args.opts)
        if kind == "Namespace" and name in NAMESPACES:
            labels = {
                **(metadata.get("labels") or {}),
                **MESH_LABELS,  # the activator and Kourier call the model servers over the mesh
                "pod-security.kubernetes.io/enforce": "baseline",
                "pod-security.kubernetes.io/enforce-version": pod_security_version,
                "pod-security.kubernetes.io/audit": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            }
            return pulumi.ResourceTransformResult({**props, "metadata": {**metadata, "labels": labels}}, args.opts)
        return None

    return transform


@dataclass
class KnativeServingArgs:
    pod_security_version: str
    gateway_exposure: Exposure = "cluster"
    """``cluster``: Kourier's gateway is a ClusterIP Service (the model servers are cluster-local anyway).
    ``internal-load-balancer``: reachable inside the VPC/VNet/site network; never a public load balancer."""
    crds: versions.ReleaseAsset = versions.KNATIVE_SERVING_CRDS
    core: versions.ReleaseAsset = versions.KNATIVE_SERVING_CORE
    networking: versions.ReleaseAsset = versions.KNATIVE_KOURIER


class KnativeServing(pulumi.ComponentResource):
    """Knative Serving (CRDs, core) and Kourier from upstream's pinned release manifests, private to the cluster."""

    ready: list[pulumi.Resource]
    """What KServe's install waits for (its Serverless mode needs Knative's CRDs and webhooks)."""

    def __init__(self, name: str, args: KnativeServingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:services:KnativeServing", name, None, opts)
        from pulumi_kubernetes.yaml.v2 import ConfigFile

        transforms: list[Any] = [internal_only(args.gateway_exposure, args.pod_security_version)]
        crds = ConfigFile(f"{name}-crds", file=args.crds.url, opts=pulumi.ResourceOptions(parent=self))
        core = ConfigFile(
            f"{name}-core",
            file=args.core.url,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[crds], transforms=transforms),
        )
        kourier = ConfigFile(
            f"{name}-kourier",
            file=args.networking.url,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[core], transforms=transforms),
        )
        self.ready = [crds, core, kourier]
        self.register_outputs({"version": args.core.tag, "networking": args.networking.tag})

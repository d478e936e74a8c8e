"""Helm v3 Release of a remote chart (ingress-nginx), in its own namespace."""

import pulumi
import pulumi_kubernetes as k8s

ns = k8s.core.v1.Namespace("ingress", metadata={"name": "ingress-nginx"})
release = k8s.helm.v3.Release(
    "ingress-nginx",
    chart="ingress-nginx",
    version="4.11.3",
    namespace=ns.metadata.name,
    repository_opts={"repo": "https://kubernetes.github.io/ingress-nginx"},
    values={"controller": {"service": {"type": "LoadBalancer"}, "replicaCount": 2}},
)

pulumi.export("status", release.status.apply(lambda s: s.status))

"""Namespace with a default-deny NetworkPolicy (ingress and egress) and one that lets in traffic from the ingress
namespace only."""

import pulumi
import pulumi_kubernetes as k8s

ns = k8s.core.v1.Namespace("team-a", metadata={"name": "team-a", "labels": {"team": "a"}})
k8s.networking.v1.NetworkPolicy(
    "default-deny",
    metadata={"name": "default-deny", "namespace": ns.metadata.name},
    spec={"pod_selector": {}, "policy_types": ["Ingress", "Egress"]},
)
k8s.networking.v1.NetworkPolicy(
    "allow-from-ingress",
    metadata={"name": "allow-from-ingress", "namespace": ns.metadata.name},
    spec={
        "pod_selector": {},
        "policy_types": ["Ingress"],
        "ingress": [{"from": [{"namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": "ingress"}}}]}],
    },
)

pulumi.export("namespace", ns.metadata.name)

"""nginx Deployment exposed through a LoadBalancer Service."""

import pulumi
import pulumi_kubernetes as k8s

labels = {"app": "web"}
deployment = k8s.apps.v1.Deployment(
    "web",
    metadata={"name": "web"},
    spec={
        "replicas": 2,
        "selector": {"match_labels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27", "ports": [{"container_port": 80}]}]},
        },
    },
)
service = k8s.core.v1.Service(
    "web",
    metadata={"name": "web"},
    spec={"type": "LoadBalancer", "selector": labels, "ports": [{"port": 80, "target_port": 80}]},
)

pulumi.export("service", service.metadata.apply(lambda m: m.name))

"""A privileged debug Pod on the host network."""

import pulumi_kubernetes as k8s

k8s.core.v1.Pod(
    "debug",
    metadata={"name": "node-debug", "namespace": "kube-system"},
    spec={
        "host_network": True,
        "host_pid": True,
        "containers": [
            {
                "name": "shell",
                "image": "busybox:latest",
                "command": ["sleep", "infinity"],
                "security_context": {"privileged": True, "run_as_user": 0},
            }
        ],
    },
)

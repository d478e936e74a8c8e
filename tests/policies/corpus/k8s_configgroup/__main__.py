"""yaml.ConfigGroup with inline YAML: a ConfigMap and a Deployment that mounts it."""

import pulumi_kubernetes as k8s

MANIFESTS = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  namespace: default
data:
  LOG_LEVEL: info
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  namespace: default
spec:
  replicas: 1
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
        - name: app
          image: ghcr.io/example/app:1.0.0
          envFrom:
            - configMapRef: {name: app-config}
"""

k8s.yaml.ConfigGroup("app", yaml=[MANIFESTS])

"""In-cluster components every target gets: secure namespaces, the GPU Operator, RBAC, and the baseline that
composes them. Cloud- and site-specific code lives elsewhere (components/aws, components/azure, components/onprem)."""

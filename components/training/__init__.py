"""Training that scales out: Kubeflow Trainer, Katib, Kueue queues and per-team quotas (see docs/services.md)."""

"""The platform's workload identities, named once: the Pulumi components create them, the gate's checks and the
pipeline steps refer to them. Imports nothing (the gate's translation reads it without the Pulumi SDK)."""

from __future__ import annotations

PIPELINES_NAMESPACE = "kubeflow"
"""Where upstream's standalone KFP installs itself (its kustomization fixes the namespace) and runs pipelines."""
RUNNER_SERVICE_ACCOUNT = "pipeline-runner"
"""KFP runs every task as this account: it trains, and never deploys."""
DEPLOYER_SERVICE_ACCOUNT = "pipeline-deployer"
"""The only identity that may write InferenceServices (its token is mounted into the deploy task alone)."""
GATE_SERVICE_ACCOUNT = "release-gate"
"""The identity that records gate approvals (its token is mounted into the approve task alone)."""

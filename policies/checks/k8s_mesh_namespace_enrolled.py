"""CKV_MLOPS_322: every platform and team namespace is in the service mesh, and the mesh is there: Istio's pinned
charts (base, istiod, cni, ztunnel) and a mesh-wide STRICT PeerAuthentication.

Runs on each Namespace: one whose ``mlops.platform/tier`` is ``platform`` or ``team`` needs the label
``istio.io/dataplane-mode: ambient``, and the stack's inventory (the context's ``kubernetes_inventory``) must hold
the four charts and the root STRICT PeerAuthentication. System namespaces (drivers, storage, the mesh itself)
PASS; a context without an inventory FAILS.
"""

from __future__ import annotations

from typing import Any

from _mlops_context import context_for
from _mlops_mesh import DATAPLANE_LABEL, ENROLLED_TIERS, MESH_CHARTS, TIER_LABEL, is_root_strict
from _mlops_values import get_path
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


class K8sMeshNamespaceEnrolled(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure platform and team namespaces are enrolled in the STRICT-mTLS Istio ambient mesh",
            id="CKV_MLOPS_322",
            categories=[CheckCategories.KUBERNETES],
            supported_entities=("Namespace",),
            guideline="Keep components/security/mesh.py (pinned Istio ambient, STRICT PeerAuthentication) and the "
            "mesh labels of components/kubernetes/namespace.py. See docs/policies.md#ckv_mlops_322 and docs/security-mtls-and-authn.md",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["metadata/labels"]
        labels = get_path(conf, "metadata", "labels") or {}
        if not isinstance(labels, dict) or labels.get(TIER_LABEL) not in ENROLLED_TIERS:
            return CheckResult.PASSED
        if labels.get(DATAPLANE_LABEL) != "ambient":
            return CheckResult.FAILED
        context = context_for(self.entity_path, conf)
        if context is None or context.inventory is None:
            return CheckResult.FAILED
        charts = set(context.inventory.get("charts") or [])
        if not set(MESH_CHARTS) <= charts:
            return CheckResult.FAILED
        peer = context.objects("PeerAuthentication")
        return CheckResult.PASSED if any(is_root_strict(p) for p in peer) else CheckResult.FAILED


check = K8sMeshNamespaceEnrolled()

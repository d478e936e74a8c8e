"""CKV_MLOPS_321: mesh traffic is mutually authenticated and encrypted: no PeerAuthentication weakens mTLS.

The mesh-wide PeerAuthentication (root namespace ``istio-system``, no selector) must be ``STRICT``; any other may
not set ``PERMISSIVE`` or ``DISABLE`` for a namespace or workload, and may relax single ports (``portLevelMtls``,
for API-server webhooks outside the mesh) only for a selected workload. That the mesh-wide policy exists at all is
CKV_MLOPS_322's concern.
"""

from __future__ import annotations

from typing import Any

from _mlops_mesh import ROOT_NAMESPACE, WEAK_MODES, mtls_mode
from _mlops_values import get_path
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


class K8sMeshStrictMtls(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure Istio PeerAuthentication keeps mTLS STRICT (mesh-wide STRICT, no namespace-wide PERMISSIVE)",
            id="CKV_MLOPS_321",
            categories=[CheckCategories.KUBERNETES],
            supported_entities=("PeerAuthentication",),
            guideline="Keep components/security/mesh.py's STRICT PeerAuthentication; relax only a webhook's port of "
            "a selected workload. See docs/policies.md#ckv_mlops_321 and docs/security-mtls-and-authn.md",
        )
        self.severity = Severities[BcSeverities.HIGH]

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["spec/mtls/mode", "spec/selector", "spec/portLevelMtls"]
        spec = conf.get("spec") if isinstance(conf.get("spec"), dict) else {}
        namespace = get_path(conf, "metadata", "namespace")
        mode = mtls_mode(spec)
        selector = spec.get("selector")
        if namespace == ROOT_NAMESPACE and not selector:
            return CheckResult.PASSED if mode == "STRICT" and not spec.get("portLevelMtls") else CheckResult.FAILED
        if mode in WEAK_MODES:
            return CheckResult.FAILED
        if spec.get("portLevelMtls") and not selector:
            return CheckResult.FAILED
        return CheckResult.PASSED


check = K8sMeshStrictMtls()

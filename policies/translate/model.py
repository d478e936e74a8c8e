"""What translation hands to the Checkov run: files in the formats Checkov reads, and the way back to Pulumi.

A finding names a synthetic Terraform address, ARM resource id or Kubernetes manifest; :class:`Origin` maps it
back to the Pulumi resource (URN and name), the component that created it, and the stack file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Framework = Literal["terraform_plan", "arm", "kubernetes"]
CoverageStatus = Literal["translated", "not-rendered", "no-checks", "untranslatable", "unscanned"]
"""``unscanned``: a resource that should be scanned but is not, because the user allowed it explicitly (a flag or an
expiring exception record, named in ``detail``); every report lists these rows loudly."""


@dataclass(frozen=True)
class Origin:
    """The Pulumi resource behind a translated resource."""

    stack: str
    stack_file: str
    urn: str
    name: str
    type: str
    component: str | None = None
    """``<type token> <name>`` of the nearest enclosing ComponentResource, if any."""
    partial_keys: tuple[str, ...] | None = None
    """Set for a ``*Patch`` resource: the key paths the patch sets. Its Checkov results are evidence about those
    fields only (``policies.translate.kubernetes.patch_result_counts`` says which count); None for whole objects."""


@dataclass
class CoverageRow:
    urn: str
    type: str
    package: str
    status: CoverageStatus
    framework: Framework | None = None
    detail: str = ""
    """Why not translated, or what was rendered (e.g. chart name and pinned version for not-rendered Helm)."""


@dataclass(frozen=True)
class UnknownValue:
    """An input whose value is not known before deployment (the engine's unknown sentinel)."""

    urn: str
    name: str
    type: str
    path: str
    """Input path, ``spec.template.spec.containers[0].securityContext.privileged``."""
    reference: str | None = None
    """For a reference to another resource (an id, ARN, name... the input depends on): the placeholder the
    translation wrote instead, ``${known after apply: <resource name>}``. None: a setting the checks cannot judge."""


@dataclass
class TranslatedStack:
    stack: str
    source: str
    files: dict[str, Any] = field(default_factory=dict)
    """Relative path -> document: ``tfplan.json`` (terraform_plan), ``arm.json`` (arm), ``k8s/<n>.yaml`` (kubernetes)."""
    origins: dict[tuple[str, str], Origin] = field(default_factory=dict)
    """(relative file path, Checkov's resource id in that file) -> Origin. Checkov's ids: ``aws_s3_bucket.x``
    (terraform_plan address), ``Microsoft.Storage/storageAccounts.name`` (arm), ``Kind.namespace.name`` (kubernetes).
    Checked against Checkov 3.3.30 runs: cluster-scoped kinds read ``Kind.default.name``; the pod template of a
    workload is a resource of its own, ``Pod.namespace.<workload>.<label>-<value>`` (same origin as the workload);
    diagnostic settings are nested ARM extensions (``<parent type>/providers/diagnosticsettings.<parent>/
    Microsoft.Insights/<name>``). Checkov's ``summary.resource_count`` per framework equals the number of keys
    here for that framework's files; its results only name resources some check applies to."""
    coverage: list[CoverageRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Resources that must be gated but cannot be translated: the gate exits 2 when any stack has errors."""
    unknown: list[UnknownValue] = field(default_factory=list)
    """Unknown inputs of translated resources: references (set to a placeholder) and settings (left out: the gate
    exits 2 unless --allow-unknown)."""

    @property
    def unknown_settings(self) -> list[UnknownValue]:
        return [u for u in self.unknown if u.reference is None]

    def resource_count(self) -> int:
        return len(self.origins)

"""What a preview produces: every resource with its type token, name, parent and resolved inputs.

The same records come from the offline preview, from ``pulumi preview --json`` and from ``pulumi stack
export``, so everything downstream (the policy gate, reports, tests) reads one shape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The engine's sentinel for a value not known before deployment."""


@dataclass
class PreviewResource:
    urn: str
    type: str
    name: str
    parent: str | None = None
    custom: bool = True
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    provider: str | None = None
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)

    @property
    def package(self) -> str:
        """Provider package of the type token: ``aws``, ``azure-native``, ``kubernetes``, ``pulumi``, ..."""
        return self.type.split(":", 1)[0]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class UnknownInput:
    urn: str
    input: str
    depends_on: list[str]


@dataclass
class PreviewResult:
    project: str
    stack: str
    source: str
    """Where the resources came from: the stack file, the program dir, or the preview/export JSON file."""
    resources: list[PreviewResource]
    outputs: dict[str, Any] = field(default_factory=dict)
    unknown_inputs: list[UnknownInput] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    """What the policy gate knows about the stack beyond its resources (``target``, ``region``,
    ``allowed_regions``, ``required_tags``); filled by the gate from the stack config when it has one."""
    provider_defaults: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Configuration of the default providers, per package, from the stack config (``aws:region`` ->
    ``{"aws": {"region": ...}}``, ``azure-native:location``): what a resource without an explicit ``provider``
    gets. Explicit providers are resources of their own (``pulumi:providers:<package>``)."""

    def by_urn(self) -> dict[str, PreviewResource]:
        return {r.urn: r for r in self.resources}

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.resources:
            counts[r.type] = counts.get(r.type, 0) + 1
        return dict(sorted(counts.items()))

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "source": self.source,
            "resources": [r.to_json() for r in self.resources],
            "outputs": self.outputs,
            "unknownInputs": [asdict(u) for u in self.unknown_inputs],
            "counts": self.counts(),
        }


def component_of(resource: PreviewResource, index: dict[str, PreviewResource]) -> PreviewResource | None:
    """The nearest ancestor that is a component (``custom=False``, not the stack): who created this resource."""
    parent = index.get(resource.parent or "")
    while parent is not None:
        if not parent.custom and parent.type != "pulumi:pulumi:Stack":
            return parent
        parent = index.get(parent.parent or "")
    return None

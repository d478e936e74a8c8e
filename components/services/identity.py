"""What a workload's Kubernetes ServiceAccount needs from the target's cloud identity, target-neutral.

Each target module (:mod:`.aws`, :mod:`.azure`, :mod:`.onprem`) turns a list of :class:`BucketGrant` into a cloud
identity scoped to exactly those buckets (IRSA role, Entra workload identity, MinIO credentials) and hands back an
:class:`IdentityBinding` that the in-cluster components put on the ServiceAccount and pod template.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import pulumi

from components.errors import InputError

Access = Literal["read", "write"]


@dataclass(frozen=True)
class BucketGrant:
    """Access to one of the stack's buckets (by its config name: ``features``, ``models``, ...)."""

    bucket: str
    access: Access
    """``read``: list and get objects. ``write``: read plus put (never delete, never change bucket settings)."""


@dataclass
class IdentityBinding:
    """How a pod gets its cloud identity: ServiceAccount annotations, pod labels, environment."""

    service_account_annotations: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    pod_labels: dict[str, str] = field(default_factory=dict)
    service_account_secrets: list[str] = field(default_factory=list)
    """Secrets to list on the ServiceAccount (on-prem object-store keys, which KServe reads from there)."""
    env: list[dict[str, Any]] = field(default_factory=list)
    volumes: list[dict[str, Any]] = field(default_factory=list)
    """Pod volumes the identity needs (on-prem: the object-store credentials file)."""
    volume_mounts: list[dict[str, Any]] = field(default_factory=list)
    identity: pulumi.Input[str] | None = None
    """The cloud principal (role ARN, managed identity client id); None where the target has none."""


class IdentityProvider(Protocol):
    """Makes one least-privilege cloud identity per ServiceAccount."""

    def bind(
        self, name: str, *, namespace: str, service_account: str, grants: list[BucketGrant], parent: pulumi.Resource
    ) -> IdentityBinding: ...


def check_grants(grants: list[BucketGrant], buckets: dict[str, Any]) -> None:
    """Fail closed on a grant naming a bucket the stack does not have."""
    unknown = sorted({g.bucket for g in grants} - set(buckets))
    if unknown:
        raise InputError(f"bucket grants name unknown buckets {unknown}; the stack's buckets: {sorted(buckets)}")

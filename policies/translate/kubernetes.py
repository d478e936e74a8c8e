"""``kubernetes:*`` resources -> one manifest per resource (Checkov's ``kubernetes`` framework).

pulumi-kubernetes inputs are already Kubernetes JSON (camelCase), so a manifest is apiVersion and kind from the
token plus the inputs. Helm releases/charts, ``yaml/v2`` and ``kustomize/v2`` render inside the provider, so
offline they are listed as not rendered (gated again inside ``pulumi preview`` by the policy pack).

``*Patch`` types (``NodePatch``, ``DeploymentPatch``, ...) change fields of an object that exists already; a
partial object would fail checks for fields it never sets, so they are listed as ``no-checks`` with that reason.
"""

from __future__ import annotations

import re
from typing import Any

from infra.preview.model import UNKNOWN, PreviewResource

NOT_RENDERED = {
    "kubernetes:helm.sh/v3:Release",
    "kubernetes:helm.sh/v4:Chart",
    "kubernetes:helm.sh/v3:Chart",
    "kubernetes:yaml/v2:ConfigFile",
    "kubernetes:yaml/v2:ConfigGroup",
    "kubernetes:kustomize/v2:Directory",
}


def api_version_kind(token: str) -> tuple[str, str] | None:
    """``kubernetes:apps/v1:Deployment`` -> (``apps/v1``, ``Deployment``); core group -> ``v1``."""
    parts = token.split(":")
    if len(parts) != 3 or "/" not in parts[1]:
        return None
    group, version = parts[1].split("/", 1)
    return (version if group == "core" else f"{group}/{version}"), parts[2]


def is_patch(token: str) -> bool:
    return token.endswith("Patch")


def not_rendered_detail(resource: PreviewResource) -> str:
    inputs = resource.inputs
    if "helm.sh/v3" in resource.type:
        # A v3 Release is one opaque object to the engine too: Helm renders it in the cluster at deploy time.
        suffix = "not rendered offline nor by the policy pack (Helm renders a v3 Release at deploy time); pinned, reviewed"
    else:
        suffix = "not rendered offline; its objects are gated at `pulumi preview` by the policy pack"
    if "helm.sh" not in resource.type:
        source = inputs.get("files") or inputs.get("directory") or inputs.get("yaml") and "inline YAML" or resource.name
        return f"manifests {source}: {suffix}"
    opts = inputs.get("repositoryOpts") or {}
    repo = (opts.get("repo") if isinstance(opts, dict) else None) or inputs.get("repo") or "(local or OCI reference)"
    version = inputs.get("version") or "(no version pinned)"
    return f"chart {inputs.get('chart') or resource.name} {version} from {repo}: {suffix}"


def _drop_unknown(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_unknown(v) for k, v in value.items() if v is not None and v != UNKNOWN}
    if isinstance(value, list):
        return [_drop_unknown(v) for v in value if v != UNKNOWN]
    return value


def manifest(resource: PreviewResource) -> dict[str, Any]:
    api_version, kind = api_version_kind(resource.type)  # type: ignore[misc]
    doc: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    body = _drop_unknown(resource.inputs)
    body.pop("apiVersion", None)
    body.pop("kind", None)
    metadata = dict(body.pop("metadata", None) or {})
    if not metadata.get("name"):
        # No auto-naming under mocks: the mock's output name, as the engine would have made it.
        metadata["name"] = (resource.outputs.get("metadata") or {}).get("name") or resource.name
    doc["metadata"] = metadata
    doc.update(body)
    return doc


# Checkov scans the pod template of these kinds as a resource of its own (kubernetes_utils in Checkov 3.3).
POD_TEMPLATE_KINDS = {"Deployment", "DeploymentConfig", "DaemonSet", "Job", "ReplicaSet", "ReplicationController", "StatefulSet"}


def checkov_ids(doc: dict[str, Any]) -> list[str]:
    """Checkov's resource ids for one manifest: ``Kind.namespace.name``, plus the pod template of workloads
    (``Pod.namespace.<parent>.<label>-<value>...``), which Checkov reports as a resource of its own."""
    metadata = doc["metadata"]
    namespace = metadata.get("namespace") or "default"
    ids = [f"{doc['kind']}.{namespace}.{metadata['name']}"]
    template = (doc.get("spec") or {}).get("template")
    if doc["kind"] in POD_TEMPLATE_KINDS and isinstance(template, dict) and isinstance(template.get("metadata"), dict) \
            and isinstance(template.get("spec"), dict):
        pod_meta = template["metadata"]
        pod_ns = pod_meta.get("namespace") or namespace
        if pod_meta.get("name"):
            ids.append(f"{template.get('kind', 'Pod')}.{pod_ns}.{pod_meta['name']}")
        elif pod_meta.get("labels") is not None:  # neither name nor labels: Checkov keeps the pod inline
            labels = ".".join(f"{k}-{v}" for k, v in pod_meta["labels"].items()) or "default"
            ids.append(f"{template.get('kind', 'Pod')}.{pod_ns}.{metadata['name']}.{labels}")
    return ids


def file_name(index: int, doc: dict[str, Any]) -> str:
    slug = re.sub(r"[^a-z0-9.-]+", "-", doc["metadata"]["name"].lower()).strip("-") or "unnamed"
    return f"k8s/{index:04d}-{doc['kind'].lower()}-{slug}.yaml"

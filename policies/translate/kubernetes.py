"""``kubernetes:*`` resources -> one manifest per Kubernetes object (Checkov's ``kubernetes`` framework).

pulumi-kubernetes inputs are already Kubernetes JSON (camelCase), so a manifest is apiVersion and kind from the
token plus the inputs.

Sources of many objects (:data:`SOURCES`) are rendered here where that is possible offline, and every object is
scanned, traced back (:class:`Origin`) to the ConfigGroup/ConfigFile/Directory resource that declared it:

- ``yaml`` ``ConfigGroup``/``ConfigFile`` (v1 and v2): inline ``yaml`` (a string or a list of strings), ``objs``
  and local ``file``/``files`` (relative to the Pulumi program's directory, the nearest folder above the stack file
  holding ``Pulumi.yaml``; globs allowed) are parsed. v1 types render through the provider's ``decode`` invoke, which
  the offline preview answers, and inside a real ``pulumi preview`` the engine renders v2 types too: their objects
  are registered as child resources and scanned as such, so a source with children is not rendered a second time
  (except a helm v3 Release, which never has children).
- ``kustomize`` ``Directory`` (v1 and v2) with a local directory: ``kubectl kustomize`` renders it.
- Helm (``helm.sh/v3:Release``, ``helm.sh/v3:Chart``, ``helm.sh/v4:Chart``): a local chart directory (with
  ``Chart.yaml``) is rendered with ``helm template`` and the resource's values where a helm binary is installed (none
  is on the project's machines, so there it is an error or an exception like a remote chart); remote and OCI charts
  are never fetched; a v3 Chart whose objects the preview registered as children is gated through them.

What cannot be rendered (Helm charts, remote URLs, remote kustomizations, a missing kubectl) is an error (the gate
exits 2) unless an unexpired exception in ``policies/exceptions/unrendered.yaml`` names its chart/manifest, exact
version and repository (:mod:`policies.translate.exceptions`); then the row is ``unscanned`` and names the exception.

``*Patch`` types (``NodePatch``, ``DeploymentPatch``, ...) change fields of an object that exists already. A patch
is translated to a manifest of the patched kind (``DeploymentPatch`` -> ``Deployment``) and scanned, but it is only
part of the live object, so its results are evidence about what the patch *sets*, never a pass
(:func:`patch_result_counts`, applied by the gate to every result whose :attr:`Origin.partial_keys` is set):

- PASSED (and SKIPPED) results on a patch are dropped: the live object may still fail.
- A FAILED result counts when one of the check's evaluated keys is a leaf path the patch sets to a value (a scalar
  or a list of scalars; list indices ignored; for a workload's pod template, paths below ``spec.template`` count as
  well), or when the check is one that only
  fires on a field set to a dangerous value (:data:`FIRES_ON_VALUE`: privileged, hostPID, hostIPC, hostNetwork,
  whose absence passes). Other FAILED results are dropped: a field the patch does not set is missing, or the evaluated key is a
  container (``spec``, ``securityContext``) the check found something missing below. Known gap: a check that fails
  on a dangerous *mapping* (e.g. a ``hostPath`` volume) set by a patch is dropped unless listed in FIRES_ON_VALUE.

So a DeploymentPatch/PodPatch setting ``privileged: true``, ``hostNetwork: true`` or ``hostPID: true`` fails the
gate, while a patch that only sets an environment variable or ``replicas`` produces no finding.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from policies.preview.model import UNKNOWN, PreviewResource
from policies.translate import exceptions as exc_mod

HELM_TYPES = {"kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v3:Chart", "kubernetes:helm.sh/v4:Chart"}
YAML_TYPES = {
    "kubernetes:yaml:ConfigFile",
    "kubernetes:yaml:ConfigGroup",
    "kubernetes:yaml/v2:ConfigFile",
    "kubernetes:yaml/v2:ConfigGroup",
}
KUSTOMIZE_TYPES = {"kubernetes:kustomize:Directory", "kubernetes:kustomize/v2:Directory"}
SOURCES = HELM_TYPES | YAML_TYPES | KUSTOMIZE_TYPES
"""Resources that stand for many objects rendered from a chart, manifests or a kustomization."""

FIRES_ON_VALUE = frozenset({"CKV_K8S_16", "CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19"})
"""Checks that fail only on a field set to a dangerous value (privileged, hostPID, hostIPC, hostNetwork) and pass
when it is absent: their FAILED result on a patch always counts."""
KUSTOMIZE_TIMEOUT_S = 60


class RenderError(Exception):
    """A source that cannot be rendered offline (the message says why)."""


@dataclass
class Rendering:
    docs: list[dict[str, Any]] = field(default_factory=list)
    detail: str = ""


def api_version_kind(token: str) -> tuple[str, str] | None:
    """``kubernetes:apps/v1:Deployment`` -> (``apps/v1``, ``Deployment``); core group -> ``v1``."""
    parts = token.split(":")
    if len(parts) != 3 or "/" not in parts[1]:
        return None
    group, version = parts[1].split("/", 1)
    return (version if group == "core" else f"{group}/{version}"), parts[2]


def is_patch(token: str) -> bool:
    return token.endswith("Patch")


def _drop_unknown(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_unknown(v) for k, v in value.items() if v is not None and v != UNKNOWN}
    if isinstance(value, list):
        return [_drop_unknown(v) for v in value if v != UNKNOWN]
    return value


def manifest(resource: PreviewResource) -> dict[str, Any]:
    api_version, kind = api_version_kind(resource.type)  # type: ignore[misc]
    if is_patch(resource.type):
        kind = kind[: -len("Patch")]
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
POD_TEMPLATE_KINDS = {
    "Deployment",
    "DeploymentConfig",
    "DaemonSet",
    "Job",
    "ReplicaSet",
    "ReplicationController",
    "StatefulSet",
}


def checkov_ids(doc: dict[str, Any]) -> list[str]:
    """Checkov's resource ids for one manifest: ``Kind.namespace.name``, plus the pod template of workloads
    (``Pod.namespace.<parent>.<label>-<value>...``), which Checkov reports as a resource of its own."""
    metadata = doc["metadata"]
    namespace = metadata.get("namespace") or "default"
    ids = [f"{doc['kind']}.{namespace}.{metadata['name']}"]
    template = (doc.get("spec") or {}).get("template")
    if (
        doc["kind"] in POD_TEMPLATE_KINDS
        and isinstance(template, dict)
        and isinstance(template.get("metadata"), dict)
        and isinstance(template.get("spec"), dict)
    ):
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


# --- sources of many objects -------------------------------------------------------------------------------------


def program_dir(source: str) -> Path:
    """The Pulumi program's directory: the nearest folder holding ``Pulumi.yaml`` above the stack file (a stack's
    config may live in ``stackConfigDir``), else the stack file's folder, else the working directory."""
    if not source:
        return Path.cwd()
    start = Path(source).resolve().parent
    for folder in (start, *start.parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    return start


def is_remote(path: str) -> bool:
    return bool(re.match(r"^(https?|git|ssh|s3|gs|oci)(::|://)", path)) or path.startswith(
        ("github.com/", "git@", "gitlab.com/", "bitbucket.org/")
    )


def _objects(text: str, where: str) -> list[dict[str, Any]]:
    try:
        loaded = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise RenderError(f"{where} is not valid YAML: {exc}") from None
    return _flatten(loaded, where)


def _flatten(items: list[Any], where: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for item in items:
        if item is None:
            continue
        if not isinstance(item, dict) or not item.get("kind") or not item.get("apiVersion"):
            raise RenderError(f"{where} holds something that is not a Kubernetes object (no apiVersion/kind)")
        if str(item["kind"]).endswith("List") and isinstance(item.get("items"), list):
            docs += _flatten(item["items"], where)
        else:
            docs.append(item)
    return docs


def _as_list(value: Any) -> list[Any]:
    if value is None or value == UNKNOWN:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _local_files(paths: list[Any], base: Path) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        if not isinstance(raw, str):
            raise RenderError(f"file {raw!r} is not known before deployment")
        if is_remote(raw):
            raise RenderError(f"remote file {raw} is not fetched offline")
        path = Path(raw) if Path(raw).is_absolute() else base / raw
        if any(c in raw for c in "*?["):
            matched = sorted(Path(p) for p in glob.glob(str(path), recursive=True))
            if not matched:
                raise RenderError(f"file pattern {raw} matches nothing under {base}")
            found += matched
        elif path.is_file():
            found.append(path)
        else:
            raise RenderError(f"file {raw} not found (looked for {path})")
    return found


def render_yaml(resource: PreviewResource, base: Path) -> Rendering:
    inputs = resource.inputs
    docs: list[dict[str, Any]] = []
    sources: list[str] = []
    files = _as_list(inputs.get("file")) + _as_list(inputs.get("files"))
    remote = [f for f in files if isinstance(f, str) and is_remote(f)]
    if remote:
        raise RenderError(f"remote manifests {', '.join(remote)} are not fetched offline")
    for path in _local_files(files, base):
        docs += _objects(path.read_text(), str(path))
        sources.append(str(path))
    for n, text in enumerate(_as_list(inputs.get("yaml"))):
        if not isinstance(text, str):
            raise RenderError("inline YAML is not known before deployment")
        docs += _objects(text, f"inline yaml[{n}]")
        sources.append("inline YAML")
    objs = _as_list(inputs.get("objs"))
    if objs:
        docs += _flatten(objs, "objs")
        sources.append("objs")
    if not sources:
        raise RenderError("no file, files, yaml or objs recorded to render")
    return Rendering(docs, f"{len(docs)} object(s) rendered offline from {', '.join(dict.fromkeys(sources))}")


def render_kustomize(resource: PreviewResource, base: Path) -> Rendering:
    directory = resource.inputs.get("directory")
    if not isinstance(directory, str):
        raise RenderError("the kustomization directory is not known before deployment")
    if is_remote(directory):
        raise RenderError(f"remote kustomization {directory} is not fetched offline")
    path = Path(directory) if Path(directory).is_absolute() else base / directory
    if not path.is_dir():
        raise RenderError(f"kustomization directory {directory} not found (looked for {path})")
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise RenderError("kubectl is not installed: a local kustomization cannot be rendered")
    try:
        proc = subprocess.run(
            [kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=KUSTOMIZE_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise RenderError(f"kubectl kustomize {path} ran past {KUSTOMIZE_TIMEOUT_S} s") from None
    if proc.returncode != 0:
        raise RenderError(f"kubectl kustomize {path} failed: {proc.stderr.strip()[-500:]}")
    docs = _objects(proc.stdout, f"kubectl kustomize {path}")
    namespace = resource.inputs.get("namespace")
    if isinstance(namespace, str) and namespace:
        for doc in docs:
            doc.setdefault("metadata", {}).setdefault("namespace", namespace)
    return Rendering(docs, f"{len(docs)} object(s) rendered offline by kubectl kustomize {directory}")


def render_local_chart(resource: PreviewResource, chart: Path) -> Rendering:
    """``helm template`` of a local chart directory with the resource's values, where a helm binary exists."""
    helm = shutil.which("helm")
    if helm is None:
        raise RenderError(f"local chart {chart}: no helm binary is available offline to render it")
    inputs = resource.inputs
    values = inputs.get("values") or {}
    if not isinstance(values, dict) or UNKNOWN in json.dumps(values):
        raise RenderError(f"local chart {chart}: its values are not known before deployment")
    name = inputs.get("name") if isinstance(inputs.get("name"), str) else resource.name
    command = [helm, "template", name, str(chart), "--values", "-"]
    if isinstance(inputs.get("namespace"), str):
        command += ["--namespace", inputs["namespace"]]
    try:
        proc = subprocess.run(
            command, input=json.dumps(values), capture_output=True, text=True, timeout=KUSTOMIZE_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise RenderError(f"helm template {chart} ran past {KUSTOMIZE_TIMEOUT_S} s") from None
    if proc.returncode != 0:
        raise RenderError(f"helm template {chart} failed: {proc.stderr.strip()[-500:]}")
    docs = _objects(proc.stdout, f"helm template {chart}")
    return Rendering(docs, f"{len(docs)} object(s) rendered offline by helm template {chart}")


def source_of(resource: PreviewResource) -> exc_mod.Source:
    inputs = resource.inputs
    if resource.type in HELM_TYPES:
        return exc_mod.source_of_helm(inputs)
    target = inputs.get("directory") or next(iter(_as_list(inputs.get("file")) + _as_list(inputs.get("files"))), None)
    if isinstance(target, str) and is_remote(target):
        return exc_mod.source_of_url(target)
    return exc_mod.Source(str(target or resource.name), "", "")


def render(resource: PreviewResource, source_file: str) -> Rendering:
    """The objects of a chart/manifest/kustomization source, or :class:`RenderError` saying why it cannot be."""
    base = program_dir(source_file)
    if resource.type in YAML_TYPES:
        return render_yaml(resource, base)
    if resource.type in KUSTOMIZE_TYPES:
        return render_kustomize(resource, base)
    chart = resource.inputs.get("chart")
    if isinstance(chart, str) and not is_remote(chart) and ((base / chart) / "Chart.yaml").is_file():
        return render_local_chart(resource, base / chart)
    raise RenderError(f"chart {exc_mod.source_of_helm(resource.inputs)} cannot be fetched or rendered offline")


def unrendered_verdict(
    resource: PreviewResource, why: str, entries: list[exc_mod.UnrenderedException], today: dt.date
) -> tuple[bool, str]:
    """(allowed, detail): an unexpired matching exception allows the source unscanned."""
    source = source_of(resource)
    found, missing = exc_mod.find(source, entries, today)
    if found is not None:
        return True, f"UNSCANNED {source}: {why}; allowed by {found.describe()}"
    return False, f"{why} ({source}); {missing}"


def rendered_manifests(docs: list[dict[str, Any]], fallback: str) -> list[dict[str, Any]]:
    """Rendered objects as manifests: unknown sentinels dropped, a name where none was given."""
    out = []
    for n, raw in enumerate(docs):
        doc = _drop_unknown(raw)
        metadata = dict(doc.get("metadata") or {})
        if not metadata.get("name"):
            metadata["name"] = metadata.get("generateName") or f"{fallback}-{n}"
        doc["metadata"] = metadata
        out.append(doc)
    return out


# --- patches -------------------------------------------------------------------------------------------------------


def _paths(value: Any, prefix: str = "") -> set[str]:
    """Leaf paths: keys whose value is a scalar or a list of scalars (what a patch *sets*, not containers)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, sub in value.items():
            path = f"{prefix}/{key}" if prefix else str(key)
            if isinstance(sub, dict) or (isinstance(sub, list) and any(isinstance(i, (dict, list)) for i in sub)):
                found |= _paths(sub, path)
            else:
                found.add(path)
    elif isinstance(value, list):
        for sub in value:
            found |= _paths(sub, prefix)
    return found


def patch_keys(doc: dict[str, Any]) -> tuple[str, ...]:
    """Every leaf key path a patch sets (list indices dropped), also relative to its pod template."""
    keys = _paths(doc)
    template = (doc.get("spec") or {}).get("template")
    if isinstance(template, dict):
        keys |= _paths(template)
    return tuple(sorted(keys))


def _normalise(key: str) -> str:
    return "/".join(p for p in key.split("/") if p and not re.fullmatch(r"\[\d*\]|\d+", p))


def patch_result_counts(result: Any) -> bool:
    """Whether a Checkov result counts for the gate (see the module docstring): always for whole objects; for a
    patch only a FAILED result on a field the patch sets, or of a check that fires only on a dangerous value."""
    keys = getattr(result.origin, "partial_keys", None)
    if keys is None:
        return True
    if result.result != "FAILED":
        return False
    if result.check_id in FIRES_ON_VALUE:
        return True
    present = set(keys)
    return any(_normalise(k) in present for k in result.evaluated_keys)

"""Per-stack policy context: allowed regions, required tags and the GPU taint, shared by every check.

The gate's translator writes ``mlops-context.cfg`` (JSON) into each stack's directory, next to ``tfplan.json``,
``arm.json`` and ``k8s/``::

    {"stack": "aws-uae-prod",
     "allowed_regions": ["me-central-1"],
     "required_tags": ["owner", "cost-center", "data-classification"],
     "gpu_taint": {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
     "team_namespaces": ["kubeflow"], "karpenter_required": true,
     "training_queue": "ml-training", "torch_runtime": "torch-distributed",
     "kubernetes_inventory": {"objects": [{"apiVersion", "kind", "name", "namespace", "spec"}, ...],
                              "charts": ["kueue", ...], "kustomizations": ["github.com/...?ref=...", ...]},
     "target": "aws", "eks_addons": [{"addon_name": "vpc-cni", "configuration_values": "{...}"}],
     "storage_inventory": {"s3_lifecycle": {bucket: [rules]}, "azure_containers": {account: [containers]},
                           "azure_management_policies": {account: [rules]},
                           "minio_releases": {namespace: {"buckets": [...], "commands": [...]}}},
     "database_connections": {"feature-store/feast-feature-store": {"registry": {"sslmode": ..., "sslrootcert": ...},
                                                                    "online_store": {"ssl_cert_reqs": ...}}},
     "database_ca_bundles": {"feature-store/database-ca-bundle": {"keys": ["postgres-ca.pem", ...],
                                                                  "from_command": ["postgres-ca.pem"]}},
     "detection_inventory": {"guardduty_detectors": [{"enable", "features": [{"name", "status",
                                                                              "additional_configurations"}]}],
                             "defender_pricings": [{"name", "tier", "extensions": [{"name", "is_enabled"}]}],
                             "activity_log_settings": [{"name", "destination", "categories", "category_groups"}],
                             "falco_releases": [{"namespace", "version", "driver_enabled", "driver_kind"}],
                             "node_bootstrap": [{"node", "control_plane", "authentication_config",
                                                 "audit_policy", "flags"}]}}

The training keys describe what the stack must have (its team namespaces, whether its GPU pools scale with
Karpenter) and what the preview plans stack-wide (``kubernetes_inventory``): Checkov shows a check one object at a
time, so checks that ask whether another object exists read it here.

The file is looked up in the scanned file's directory, then in its parent (manifests sit in ``<stack>/k8s/``).
``target`` and ``eks_addons`` (the EKS managed add-ons planned) serve the network-policy checks. Other keys
(``stack``, ``region``) are ignored. ``allowed_regions`` may also be a mapping per cloud
(``{"aws": [...], "azure": [...]}``). A key that is absent takes
the built-in default below, and so does a scan with no context file at all (Checkov run bare over plain files).
A context file that exists but cannot be read or has a field of the wrong shape is logged at ERROR level (the gate
treats any ERROR as "could not do its job") and :func:`context_for` returns ``None``: checks that need it then FAIL.

Where the context file is looked up: Checkov hands each check the scanned file in ``BaseCheck.entity_path``
(``<file>:<type>:<name>``). ARM and Kubernetes give that file as Checkov received it (absolute, or relative to
the working directory); the Terraform plan runner gives it relative to the scanned root with a leading ``/``, but
puts the absolute path in the resource's ``__file__`` attribute, which wins when present. Relative paths are also
tried under ``$MLOPS_GATE_ROOT`` (the gate sets it to the scan root).

Standard library only: this module is loaded by Checkov's external-check loader (it defines no check) and
imported by the checks next to it.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

CONTEXT_FILE = "mlops-context.cfg"
ROOT_ENV = "MLOPS_GATE_ROOT"

DEFAULT_ALLOWED_REGIONS: dict[str, tuple[str, ...]] = {"aws": ("me-central-1",), "azure": ("uaenorth",)}
"""Fallback for a bare scan with no context file: the organisation policy's aws/azure lists
(``policies/residency.yaml``; Checkov cannot read this project's files, so they are copied here and a test keeps
them equal)."""
DEFAULT_REQUIRED_TAGS: tuple[str, ...] = ("owner", "cost-center", "data-classification")
DEFAULT_GPU_TAINT: dict[str, str] = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
DEFAULT_TRAINING_QUEUE = "ml-training"
DEFAULT_TORCH_RUNTIME = "torch-distributed"
DEFAULT_DEPLOY_IDENTITY: dict[str, str] = {"namespace": "kubeflow", "name": "pipeline-deployer"}
"""``components.security.admission.DEPLOYER_SERVICE_ACCOUNT`` in KFP's namespace: the only identity that may write
InferenceServices (copied; a test keeps them equal)."""
"""``components.gpu.TRAINING_QUEUE`` / ``TORCH_RUNTIME``, copied (Checkov cannot import the project; a test keeps
them equal)."""
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

_log = logging.getLogger(__name__)


class ContextError(ValueError):
    """A context file that exists but cannot be used."""


@dataclass(frozen=True)
class PolicyContext:
    """What the checks of one stack compare against."""

    source: str
    """The context file read, or ``"built-in defaults"``."""
    allowed_regions: dict[str, tuple[str, ...]]
    required_tags: tuple[str, ...]
    gpu_taint: dict[str, str]
    team_namespaces: tuple[str, ...] = ()
    """Namespaces that must carry team quotas and the training queue; none on a bare scan (checks: not applicable)."""
    karpenter_required: bool = False
    training_queue: str = DEFAULT_TRAINING_QUEUE
    torch_runtime: str = DEFAULT_TORCH_RUNTIME
    deploy_identity: dict[str, str] | None = None
    """The ServiceAccount (``namespace``, ``name``) that alone may write InferenceServices; None: the default."""
    inventory: dict[str, Any] | None = None
    """``kubernetes_inventory``; ``None`` when the context has none (a check that needs it FAILS)."""
    target: str | None = None
    """``aws``, ``azure`` or ``onprem``; ``None`` on a bare scan."""
    eks_addons: tuple[dict[str, str], ...] | None = None
    """EKS managed add-ons ``{addon_name, configuration_values}``; ``None`` when the context does not say."""
    storage: dict[str, Any] | None = None
    """``storage_inventory`` (object-store lifecycle rules stack-wide); ``None`` when absent (a check that needs it
    FAILS)."""
    database_connections: dict[str, Any] | None = None
    """``<namespace>/<secret>`` -> the TLS settings of the database clients that Secret configures (``None`` for a
    Secret whose settings cannot be read); ``None`` when the context does not say (a check that needs it FAILS)."""
    database_ca_bundles: dict[str, Any] | None = None
    """``<namespace>/<configmap>`` -> ``{keys, from_command}`` of the planned database CA bundles; ``None`` when the
    context does not say."""
    detection: dict[str, Any] | None = None
    """``detection_inventory`` (threat detection and audit settings stack-wide); ``None`` when absent (a check that
    needs it FAILS)."""

    def objects(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Inventory objects of ``kind`` (in ``namespace`` when given)."""
        found = (self.inventory or {}).get("objects", [])
        return [o for o in found if o.get("kind") == kind and (namespace is None or o.get("namespace") == namespace)]

    def regions_for(self, cloud: str) -> tuple[str, ...]:
        return self.allowed_regions.get(cloud, ())

    @property
    def gpu_taint_string(self) -> str:
        """The taint as AKS ``nodeTaints`` writes it: ``key=value:Effect``."""
        taint = self.gpu_taint
        key_value = f"{taint['key']}={taint['value']}" if taint["value"] else taint["key"]
        return f"{key_value}:{taint['effect']}"


DEFAULT_CONTEXT = PolicyContext(
    source="built-in defaults",
    allowed_regions=dict(DEFAULT_ALLOWED_REGIONS),
    required_tags=DEFAULT_REQUIRED_TAGS,
    gpu_taint=dict(DEFAULT_GPU_TAINT),
)

_cache: dict[tuple[str, int], PolicyContext | None] = {}
"""(context file, its mtime) -> parsed context: one read per file and scan, fresh again once the file changes
(Checkov may run in a long-lived process, e.g. the policy pack)."""


def context_for(entity_path: str, conf: Any = None) -> PolicyContext | None:
    """The context of the stack that holds the scanned file; ``None`` (already logged) if its file is invalid."""
    directory = _scanned_directory(entity_path, conf)
    if directory is None:
        return DEFAULT_CONTEXT
    for path in (os.path.join(directory, CONTEXT_FILE), os.path.join(os.path.dirname(directory), CONTEXT_FILE)):
        try:
            key = (path, os.stat(path).st_mtime_ns)
        except OSError:
            continue
        if key not in _cache:
            _cache[key] = _load(path)
        return _cache[key]
    return DEFAULT_CONTEXT


def _scanned_directory(entity_path: str, conf: Any) -> str | None:
    """Directory of the scanned file, or ``None`` when no candidate exists on disk."""
    candidates: list[str] = []
    declared = conf.get("__file__") if isinstance(conf, dict) else None
    if isinstance(declared, list) and declared:
        declared = declared[0]
    if isinstance(declared, str) and declared:
        candidates.append(declared)
    scanned = _scanned_file(entity_path)
    if scanned:
        candidates.append(scanned)
        root = os.environ.get(ROOT_ENV)
        if root:
            candidates.append(os.path.join(root, scanned.lstrip("/")))
    for candidate in candidates:
        if os.path.isfile(candidate):
            return os.path.dirname(os.path.abspath(candidate))
    return None


def _scanned_file(entity_path: str) -> str:
    """``<file>:<type>:<name>`` -> ``<file>`` (types and names contain no ``:``; Windows drives are not a concern)."""
    if not isinstance(entity_path, str):
        return ""
    parts = entity_path.rsplit(":", 2)
    return parts[0] if len(parts) == 3 else ""


def _load(path: str) -> PolicyContext | None:
    try:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
        return _parse(raw, path)
    except (OSError, ValueError) as exc:
        _log.error("mlops policy context %s is invalid: %s", path, exc)
        return None


def _parse(raw: Any, path: str) -> PolicyContext:
    if not isinstance(raw, dict):
        raise ContextError("the file must hold a JSON object")
    regions = dict(DEFAULT_ALLOWED_REGIONS)
    if "allowed_regions" in raw:
        value = raw["allowed_regions"]
        if _is_string_list(value):
            regions = {cloud: tuple(value) for cloud in DEFAULT_ALLOWED_REGIONS}
        elif isinstance(value, dict) and all(isinstance(k, str) and _is_string_list(v) for k, v in value.items()):
            regions = {cloud: tuple(value.get(cloud, ())) for cloud in {*DEFAULT_ALLOWED_REGIONS, *value}}
        else:
            raise ContextError("allowed_regions must be a list of region names or a mapping cloud -> list")
    tags = DEFAULT_REQUIRED_TAGS
    if "required_tags" in raw:
        if not _is_string_list(raw["required_tags"]):
            raise ContextError("required_tags must be a list of tag names")
        tags = tuple(raw["required_tags"])
    taint = dict(DEFAULT_GPU_TAINT)
    if "gpu_taint" in raw:
        value = raw["gpu_taint"]
        if not (
            isinstance(value, dict)
            and isinstance(value.get("key"), str)
            and value["key"]
            and isinstance(value.get("value", ""), str)
            and value.get("effect") in TAINT_EFFECTS
        ):
            raise ContextError(f"gpu_taint must be {{key, value, effect}}, effect one of {', '.join(TAINT_EFFECTS)}")
        taint = {"key": value["key"], "value": value.get("value", ""), "effect": value["effect"]}
    teams = raw.get("team_namespaces", [])
    if not (isinstance(teams, list) and all(isinstance(t, str) and t for t in teams)):
        raise ContextError("team_namespaces must be a list of namespace names")
    karpenter = raw.get("karpenter_required", False)
    if not isinstance(karpenter, bool):
        raise ContextError("karpenter_required must be true or false")
    names = {}
    for key, default in (("training_queue", DEFAULT_TRAINING_QUEUE), ("torch_runtime", DEFAULT_TORCH_RUNTIME)):
        value = raw.get(key, default)
        if not (isinstance(value, str) and value):
            raise ContextError(f"{key} must be a non-empty name")
        names[key] = value
    deployer = raw.get("deploy_identity", DEFAULT_DEPLOY_IDENTITY)
    if not (
        isinstance(deployer, dict)
        and set(deployer) == {"namespace", "name"}
        and all(isinstance(v, str) and v for v in deployer.values())
    ):
        raise ContextError("deploy_identity must be {namespace, name} of a ServiceAccount")
    inventory = raw.get("kubernetes_inventory")
    if inventory is not None and not _is_inventory(inventory):
        raise ContextError(
            "kubernetes_inventory must be {objects: [{kind, name, namespace, spec}], charts: [names], "
            "kustomizations: [urls]}"
        )
    storage = raw.get("storage_inventory")
    if storage is not None and not (
        isinstance(storage, dict) and all(isinstance(storage.get(k, {}), dict) for k in STORAGE_KEYS)
    ):
        raise ContextError(f"storage_inventory must be a mapping with mappings {', '.join(STORAGE_KEYS)}")
    detection = raw.get("detection_inventory")
    if detection is not None and not _is_detection_inventory(detection):
        raise ContextError("detection_inventory must be a mapping of lists of objects: " + ", ".join(DETECTION_KEYS))
    target = raw.get("target")
    if target is not None and target not in ("aws", "azure", "onprem"):
        raise ContextError("target must be aws, azure or onprem")
    addons = raw.get("eks_addons")
    if addons is not None and not (
        isinstance(addons, list)
        and all(
            isinstance(a, dict)
            and isinstance(a.get("addon_name"), str)
            and isinstance(a.get("configuration_values", ""), str)
            for a in addons
        )
    ):
        raise ContextError("eks_addons must be a list of {addon_name, configuration_values}")
    connections = raw.get("database_connections")
    if connections is not None and not (
        isinstance(connections, dict)
        and all(
            isinstance(k, str) and "/" in k and (v is None or _is_connection_tls(v)) for k, v in connections.items()
        )
    ):
        raise ContextError(
            "database_connections must map <namespace>/<secret> to null or {registry: {name: value}, "
            "online_store: {name: value}}"
        )
    bundles = raw.get("database_ca_bundles")
    if bundles is not None and not (
        isinstance(bundles, dict)
        and all(
            isinstance(k, str)
            and "/" in k
            and isinstance(v, dict)
            and _is_string_list(v.get("keys"))
            and isinstance(v.get("from_command", []), list)
            and all(isinstance(i, str) for i in v.get("from_command", []))
            for k, v in bundles.items()
        )
    ):
        raise ContextError(
            "database_ca_bundles must map <namespace>/<configmap> to {keys: [names], from_command: [names]}"
        )
    return PolicyContext(
        source=path,
        allowed_regions=regions,
        required_tags=tags,
        gpu_taint=taint,
        team_namespaces=tuple(teams),
        karpenter_required=karpenter,
        deploy_identity=dict(deployer),
        inventory=inventory,
        target=target,
        eks_addons=tuple(addons) if addons is not None else None,
        storage=storage,
        detection=detection,
        database_connections=connections,
        database_ca_bundles=bundles,
        **names,
    )


DETECTION_KEYS = (
    "guardduty_detectors",
    "defender_pricings",
    "activity_log_settings",
    "falco_releases",
    "node_bootstrap",
)
_DETECTION_FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "guardduty_detectors": {"enable": bool, "features": list},
    "defender_pricings": {"name": str, "tier": str, "extensions": list},
    "activity_log_settings": {"name": str, "destination": bool, "categories": list, "category_groups": list},
    "falco_releases": {"namespace": str, "driver_enabled": bool, "driver_kind": str},
    "node_bootstrap": {
        "node": str,
        "control_plane": bool,
        "authentication_config": (dict, type(None)),
        "audit_policy": (dict, type(None)),
        "flags": list,
    },
}
"""Per list of ``detection_inventory``: the fields every item must have, with their types."""


def _is_detection_inventory(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    for key in DETECTION_KEYS:
        items = value.get(key, [])
        if not (isinstance(items, list) and all(isinstance(i, dict) for i in items)):
            return False
        for item in items:
            if not all(isinstance(item.get(f), t) for f, t in _DETECTION_FIELDS[key].items()):
                return False
    for detector in value.get("guardduty_detectors", []):
        if not all(
            isinstance(f, dict)
            and isinstance(f.get("name"), str)
            and isinstance(f.get("status"), str)
            and isinstance(f.get("additional_configurations", []), list)
            for f in detector["features"]
        ):
            return False
    for pricing in value.get("defender_pricings", []):
        if not all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in pricing["extensions"]):
            return False
    return all(
        _is_string_list_or_empty(item[k])
        for item in value.get("activity_log_settings", [])
        for k in ("categories", "category_groups")
    ) and all(_is_string_list_or_empty(item["flags"]) for item in value.get("node_bootstrap", []))


def _is_string_list_or_empty(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_connection_tls(value: Any) -> bool:
    """``{registry: {...}, online_store: {...}}``, each a mapping of setting name -> string (either may be absent)."""
    return isinstance(value, dict) and all(
        k in ("registry", "online_store")
        and isinstance(v, dict)
        and all(isinstance(n, str) and isinstance(x, str) for n, x in v.items())
        for k, v in value.items()
    )


STORAGE_KEYS = ("s3_lifecycle", "azure_containers", "azure_management_policies", "minio_releases")


def _is_inventory(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    objects = value.get("objects", [])
    return (
        isinstance(objects, list)
        and all(isinstance(o, dict) and isinstance(o.get("kind"), str) for o in objects)
        and all(
            isinstance(value.get(k, []), list) and all(isinstance(i, str) for i in value.get(k, []))
            for k in ("charts", "kustomizations")
        )
    )


def _is_string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) and item for item in value)

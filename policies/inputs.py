"""What the gate reads: this project's stacks, any Pulumi Python program, or the JSON the real Pulumi CLI prints.

Every input becomes the same :class:`~policies.preview.model.PreviewResult` records, so translation and reports do
not care where the resources came from. Malformed files raise :class:`InputError` naming the file and what is
wrong; the CLI turns that into exit 2.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from policies.preview.model import UNKNOWN, PreviewResource, PreviewResult, UnknownInput

SECRET_SIG = "4dabf18193072939515e22adb298388d"
"""The key the engine marks secret values with in preview JSON and stack exports."""
SECRET_TEXT = "[secret]"
SKIPPED_OPS = frozenset(
    {
        "delete",
        "delete-replaced",
        "discard",
        "discard-replaced",
        "remove-pending-replace",
        "read",
        "read-replacement",
        "read-discard",
    }
)
"""Preview steps that plan nothing this stack manages: removals, and reads of existing resources (``Resource.get``)."""


class InputError(Exception):
    """An input could not be read. The message names the file and what is wrong, for the user as is."""


def from_project_stacks(names: list[str], *, preview_timeout: float | None = None) -> list[PreviewResult]:
    """Offline preview of this project's stacks (``stacks/Pulumi.<name>.yaml``); each stops after
    ``preview_timeout`` seconds (default: ``$MLOPS_PREVIEW_TIMEOUT`` or 120 s)."""
    from policies.preview.runner import PreviewError
    from policies.preview.runner import preview_timeout as limit

    try:
        timeout = limit(preview_timeout)
        return _previews(functools.partial(_preview_project_stack, timeout=timeout), names, timeout=timeout)
    except PreviewError as exc:
        raise InputError(str(exc)) from None


def _preview_project_stack(name: str, *, timeout: float | None = None) -> PreviewResult:
    from policies.preview.runner import preview_stack

    return attach_context(preview_stack(name, timeout=timeout or 0))


def _preview_program_stack(program_dir: Path, name: str | None, *, timeout: float | None = None) -> PreviewResult:
    from policies.preview.runner import preview

    return attach_context(preview(program_dir, name, timeout=timeout or 0))


def _previews(
    preview_one: Callable[[Any], PreviewResult], items: list[Any], *, timeout: float | None = None
) -> list[PreviewResult]:
    """Preview several stacks at once, one forked process each and at most one per CPU (the preview is CPU-bound
    Python; Pulumi's runtime state is per process), in order; each process is stopped after ``timeout`` seconds.
    One stack, one CPU, or a process that already runs threads (forking those can deadlock) previews one after
    the other from here (each preview still runs in a child of its own, under the same limit). Whatever a
    preview raises, ``sys.exit`` included, comes back as a :class:`PreviewError`."""
    import multiprocessing
    import os
    import threading

    from policies.preview.runner import run_isolated

    labels = [f"stack {item}" if item is not None else "the program's stack" for item in items]
    workers = min(len(items), os.cpu_count() or 1)
    if workers < 2 or threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [_without_exits(preview_one, item, label) for item, label in zip(items, labels)]
    return run_isolated([functools.partial(preview_one, item) for item in items], labels, timeout, workers)


def _without_exits(preview_one: Callable[[Any], PreviewResult], item: Any, label: str) -> PreviewResult:
    """``preview_one(item)``, with a ``sys.exit`` (SystemExit) in it raised as a :class:`PreviewError`."""
    from policies.preview.runner import PreviewError

    try:
        return preview_one(item)
    except SystemExit as exc:
        raise PreviewError(f"{label}: the program exited (sys.exit({exc.code!r})) before it finished") from None


def project_stack_names() -> list[str]:
    from policies.preview.runner import PreviewError, project_stacks

    try:
        return project_stacks()
    except PreviewError as exc:
        raise InputError(str(exc)) from None


def from_program(program_dir: Path, stacks: list[str], *, preview_timeout: float | None = None) -> list[PreviewResult]:
    """Offline preview of any Pulumi Python program directory, for the stacks named (or its only stack); each
    stops after ``preview_timeout`` seconds (default: ``$MLOPS_PREVIEW_TIMEOUT`` or 120 s)."""
    from policies.preview.runner import PreviewError
    from policies.preview.runner import preview_timeout as limit

    try:
        timeout = limit(preview_timeout)
        names: list[str | None] = list(stacks) or [None]
        return _previews(
            functools.partial(_preview_program_stack, program_dir, timeout=timeout), names, timeout=timeout
        )
    except PreviewError as exc:
        raise InputError(str(exc)) from None


def attach_context(result: PreviewResult) -> PreviewResult:
    """Fill ``PreviewResult.context`` (target, region, allowed regions, required tags) from a project stack file."""
    if result.context:
        return result
    import yaml

    from policies.organisation import DEFAULT_TEAM, PROJECT, REQUIRED_TAGS, organisation_regions

    try:
        config = (yaml.safe_load(Path(result.source).read_text()) or {}).get("config") or {}
    except (OSError, yaml.YAMLError, AttributeError):
        return result  # the preview already read this file; without a readable one there is no context to give
    target = config.get(f"{PROJECT}:target")
    if target is None:
        return result  # not a stack of this project's schema: the checks use their built-in defaults
    residency = config.get(f"{PROJECT}:residency") or {}
    allowed = residency.get("allowedRegions") if isinstance(residency, dict) else None
    result.context = {
        "target": target,
        "region": config.get(f"{PROJECT}:region"),
        "allowed_regions": list(allowed or organisation_regions().get(str(target), ())),
        "required_tags": list(REQUIRED_TAGS),
        # the platform's training layer: every team namespace has quotas and the training queue; AWS stacks with
        # GPU pools scale them with Karpenter
        "team_namespaces": _team_namespaces(config.get(f"{PROJECT}:teams"), DEFAULT_TEAM["namespace"]),
        "karpenter_required": target == "aws" and _has_gpu_pool(config.get(f"{PROJECT}:nodePools")),
    }
    return result


def _team_namespaces(teams: Any, default: str) -> list[str]:
    if not isinstance(teams, list):
        return [default]
    return [str(t["namespace"]) if isinstance(t, dict) and t.get("namespace") else default for t in teams]


def _has_gpu_pool(pools: Any) -> bool:
    return isinstance(pools, list) and any(isinstance(p, dict) and p.get("kind") == "gpu" for p in pools)


def _read_json(path: Path, flag: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{flag} {path}: cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{flag} {path}: not UTF-8 text (byte {exc.start}): expected the JSON `pulumi` prints"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{flag} {path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def _plain(value: Any) -> Any:
    """Engine JSON to plain values: secrets masked, ``__defaults`` bookkeeping dropped, unknowns kept."""
    if isinstance(value, dict):
        if SECRET_SIG in value:
            return SECRET_TEXT
        return {k: _plain(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _unknown_paths(value: Any, path: str) -> list[str]:
    if value == UNKNOWN:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _unknown_paths(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _unknown_paths(v, f"{path}[{i}]")]
    return []


def parse_urn(urn: Any, where: str) -> tuple[str, str, str]:
    """``urn:pulumi:<stack>::<project>::<type chain>::<name>`` -> (stack, project, name)."""
    if not isinstance(urn, str) or not urn.startswith("urn:pulumi:"):
        raise InputError(
            f"{where}: 'urn' must be a Pulumi URN (urn:pulumi:<stack>::<project>::<type>::<name>), got {urn!r}"
        )
    parts = urn[len("urn:pulumi:") :].split("::", 3)
    if len(parts) != 4 or not all(parts):
        raise InputError(f"{where}: malformed URN {urn!r}: expected urn:pulumi:<stack>::<project>::<type>::<name>")
    return parts[0], parts[1], parts[3]


def _expect(value: Any, kind: type, where: str, what: str) -> Any:
    if not isinstance(value, kind):
        raise InputError(
            f"{where}: '{what}' must be {'an object' if kind is dict else 'a list'}, got {type(value).__name__}"
        )
    return value


def _given(state: dict[str, Any], key: str, default: Any) -> Any:
    value = state.get(key)
    return default if value is None else value


NON_PROVIDER_PACKAGES = frozenset({"pulumi"})
"""Type-token packages that are never a provider package (``pulumi:pulumi:Stack``, ``pulumi:providers:*``)."""
KNOWN_PROVIDER_PACKAGES = frozenset(
    {
        "aws",
        "aws-native",
        "azure",
        "azure-native",
        "azuread",
        "kubernetes",
        "gcp",
        "google-native",
        "random",
        "command",
        "tls",
        "docker",
        "cloudflare",
        "datadog",
        "github",
        "vault",
        "postgresql",
        "mysql",
        "helm",
    }
)
"""Provider packages whose resources are custom whatever a ``custom`` flag in the input says."""


def provider_packages(states: list[dict[str, Any]]) -> set[str]:
    """Packages with an explicit provider resource (``pulumi:providers:<pkg>``) in the input."""
    return {
        str(s["type"]).split(":", 2)[2]
        for s in states
        if isinstance(s, dict)
        and isinstance(s.get("type"), str)
        and s["type"].startswith("pulumi:providers:")
        and s["type"].count(":") >= 2
    }


def is_custom(state: dict[str, Any], type_token: str, providers: set[str]) -> bool:
    """Decide custom-ness fail-closed: a resource of a provider package, or with an ``id`` / ``provider``, is
    custom whatever the ``custom`` flag says (a ``false`` or missing flag would otherwise hide it from the scan);
    only other tokens (``mlops:aws:Network``) may be components."""
    package = type_token.split(":", 1)[0]
    if type_token == "pulumi:pulumi:Stack":
        return False
    if type_token.startswith("pulumi:providers:"):
        return True
    if package in KNOWN_PROVIDER_PACKAGES or package in providers:
        return True
    if state.get("id") or state.get("provider"):
        return True
    return bool(state.get("custom", False))


def _resource(
    state: dict[str, Any], where: str, *, urn: str, inputs_key: str, providers: set[str] | None = None
) -> PreviewResource:
    type_token = state.get("type")
    if not isinstance(type_token, str) or ":" not in type_token:
        raise InputError(f"{where}: 'type' must be a Pulumi type token like aws:s3/bucket:Bucket, got {type_token!r}")
    _, _, name = parse_urn(urn, where)
    raw_inputs = _expect(_given(state, inputs_key, {}), dict, where, inputs_key)
    prop_deps = _expect(_given(state, "propertyDependencies", {}), dict, where, "propertyDependencies")
    deps = _expect(_given(state, "dependencies", []), list, where, "dependencies")
    outputs = state.get("outputs") or {}
    return PreviewResource(
        urn=urn,
        type=type_token,
        name=name,
        parent=state.get("parent") or None,
        custom=is_custom(state, type_token, providers or set()),
        inputs=_plain(raw_inputs),
        outputs=_plain(outputs) if isinstance(outputs, dict) else {},
        provider=state.get("provider") or None,
        dependencies=[str(d) for d in deps],
        property_dependencies={str(k): [str(u) for u in (v or [])] for k, v in prop_deps.items()},
    )


def _results_by_stack(resources: list[PreviewResource], projects: dict[str, str], source: str) -> list[PreviewResult]:
    stacks: dict[str, list[PreviewResource]] = {}
    for resource in resources:
        stack, _, _ = parse_urn(resource.urn, source)
        stacks.setdefault(stack, []).append(resource)
    results = []
    for stack, members in stacks.items():
        unknown = [
            UnknownInput(r.urn, path, r.property_dependencies.get(key, []))
            for r in members
            for key, value in r.inputs.items()
            for path in _unknown_paths(value, key)
        ]
        results.append(PreviewResult(projects[stack], stack, source, members, unknown_inputs=unknown))
    return results


def from_preview_json(path: Path) -> list[PreviewResult]:
    """``pulumi preview --json``: each step's ``newState``; deleted resources are skipped."""
    doc = _read_json(path, "--preview-json")
    if not isinstance(doc, dict) or not isinstance(doc.get("steps"), list):
        raise InputError(
            f"--preview-json {path}: expected an object with a 'steps' list (the output of `pulumi preview --json`)"
        )
    resources: list[PreviewResource] = []
    projects: dict[str, str] = {}
    providers = provider_packages([st.get("newState") for st in doc["steps"] if isinstance(st, dict)])
    for i, step in enumerate(doc["steps"]):
        where = f"--preview-json {path}: steps[{i}]"
        if not isinstance(step, dict):
            raise InputError(f"{where}: must be an object with 'op', 'urn' and 'newState'")
        op = step.get("op")
        if not isinstance(op, str):
            raise InputError(f"{where}: 'op' is missing")
        if op in SKIPPED_OPS:
            continue
        state = step.get("newState")
        if not isinstance(state, dict):
            raise InputError(f"{where}: op {op!r} needs a 'newState' object with the planned resource")
        urn = step.get("urn") or state.get("urn")
        stack, project, _ = parse_urn(urn, where)
        projects[stack] = project
        resources.append(_resource(state, where, urn=str(urn), inputs_key="inputs", providers=providers))
    if not resources:
        raise InputError(f"--preview-json {path}: no planned resources in 'steps' (nothing to gate)")
    return _results_by_stack(resources, projects, str(path))


def from_stack_export(path: Path) -> list[PreviewResult]:
    """``pulumi stack export``: the resources recorded in the stack's state (``deployment.resources``)."""
    doc = _read_json(path, "--stack-export")
    deployment = doc.get("deployment") if isinstance(doc, dict) else None
    if not isinstance(deployment, dict) or not isinstance(deployment.get("resources"), list):
        raise InputError(
            f"--stack-export {path}: expected an object with 'deployment.resources' "
            "(the output of `pulumi stack export`)"
        )
    resources: list[PreviewResource] = []
    projects: dict[str, str] = {}
    providers = provider_packages(deployment["resources"])
    for i, state in enumerate(deployment["resources"]):
        where = f"--stack-export {path}: deployment.resources[{i}]"
        if not isinstance(state, dict):
            raise InputError(f"{where}: must be an object with 'urn', 'type' and 'inputs'")
        if state.get("delete") or state.get("external"):
            continue  # pending deletion, or read from outside the stack (``Resource.get``): not managed here
        urn = state.get("urn")
        stack, project, _ = parse_urn(urn, where)
        projects[stack] = project
        resources.append(_resource(state, where, urn=str(urn), inputs_key="inputs", providers=providers))
    if not resources:
        raise InputError(f"--stack-export {path}: 'deployment.resources' is empty (nothing to gate)")
    return _results_by_stack(resources, projects, str(path))


def from_engine_states(states: list[dict[str, Any]], source: str) -> list[PreviewResult]:
    """Resources as the engine hands them to the CrossGuard policy pack (``policies/pack``), each shaped like a
    ``pulumi preview --json`` step's ``newState`` plus its ``urn``: the same records as ``--preview-json`` gives."""
    resources: list[PreviewResource] = []
    projects: dict[str, str] = {}
    providers = provider_packages(states)
    for i, state in enumerate(states):
        where = f"{source}: resources[{i}]"
        urn = state.get("urn")
        stack, project, _ = parse_urn(urn, where)
        projects[stack] = project
        resources.append(_resource(state, where, urn=str(urn), inputs_key="inputs", providers=providers))
    if not resources:
        raise InputError(f"{source}: the engine sent no resources (nothing to gate)")
    return _results_by_stack(resources, projects, source)

"""Offline preview: run a Pulumi Python program in-process under Pulumi's mocks, with no CLI and no cloud.

Works for this project's stacks and for any Pulumi Python program directory (its ``Pulumi.yaml`` and
``Pulumi.<stack>.yaml``). Records every resource registration (components included) with its parent,
resolved inputs and property dependencies, and reports inputs that resolved to unknown.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import copy
import functools
import gc
import json
import logging
import runpy
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra.preview.model import UNKNOWN, PreviewResource, PreviewResult, UnknownInput

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET_TEXT = "[secret]"


class PreviewError(Exception):
    """The program could not be previewed. The message is for the user, as is."""


@dataclass
class Project:
    name: str
    root: Path
    main: Path
    stack_config_dir: Path
    defaults: dict[str, Any] = field(default_factory=dict)

    def stack_file(self, stack: str) -> Path:
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"

    def stacks(self) -> list[str]:
        return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in self.stack_config_dir.glob("Pulumi.*.yaml"))


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise PreviewError(f"{path}: not valid YAML: {exc}") from None
    except OSError as exc:
        raise PreviewError(f"{path}: cannot be read: {exc.strerror}") from None


def load_project(program_dir: Path) -> Project:
    program_dir = program_dir.resolve()
    project_file = program_dir / "Pulumi.yaml"
    if not project_file.is_file():
        raise PreviewError(f"{program_dir}: no Pulumi.yaml here; --program must name a Pulumi project directory")
    doc = _read_yaml(project_file)
    if not isinstance(doc, dict) or not doc.get("name"):
        raise PreviewError(f"{project_file}: the project needs a 'name'")
    runtime = doc.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise PreviewError(f"{project_file}: runtime is {runtime_name!r}; the offline preview runs Python programs only")
    main = program_dir / str(doc.get("main") or ".")
    if main.is_dir():
        main = main / "__main__.py"
    if not main.is_file():
        raise PreviewError(f"{project_file}: main program {main} does not exist")
    defaults: dict[str, Any] = {}
    for key, spec in (doc.get("config") or {}).items():
        value = spec.get("default", spec.get("value")) if isinstance(spec, dict) else spec
        if value is not None:
            defaults[key if ":" in key else f"{doc['name']}:{key}"] = value
    return Project(
        name=str(doc["name"]),
        root=program_dir,
        main=main,
        stack_config_dir=program_dir / str(doc.get("stackConfigDir") or "."),
        defaults=defaults,
    )


def _config_text(value: Any) -> str:
    """The engine hands config to programs as strings: JSON for objects, lists, numbers and booleans."""
    return value if isinstance(value, str) else json.dumps(value)


def load_stack_config(project: Project, stack: str) -> tuple[dict[str, str], list[str]]:
    stack_file = project.stack_file(stack)
    if not stack_file.is_file():
        known = ", ".join(project.stacks()) or "none"
        raise PreviewError(f"unknown stack {stack!r}: {stack_file} does not exist (stacks here: {known})")
    doc = _read_yaml(stack_file)
    if not isinstance(doc, dict):
        raise PreviewError(f"{stack_file}: expected a mapping with a 'config' key")
    raw = doc.get("config") or {}
    if not isinstance(raw, dict):
        raise PreviewError(f"{stack_file}: 'config' must be a mapping of keys to values")
    config = {k: _config_text(v) for k, v in project.defaults.items()}
    secret_keys: list[str] = []
    for key, value in raw.items():
        full_key = key if ":" in key else f"{project.name}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            secret_keys.append(full_key)
            config[full_key] = f"[secret {full_key}: not decrypted by the offline preview]"
        else:
            config[full_key] = _config_text(value)
    return config, secret_keys


def _plain(value: Any) -> Any:
    """Resolved inputs as plain JSON: secrets masked, unknowns marked, integral floats back to ints."""
    from pulumi import asset
    from pulumi.output import Unknown
    from pulumi.runtime import rpc

    def plain(value: Any) -> Any:
        if rpc.is_rpc_secret(value):
            return SECRET_TEXT
        if isinstance(value, Unknown):
            return UNKNOWN
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, (asset.FileAsset, asset.FileArchive)):  # pulumi-command copies files: record which
            return {type(value).__name__[0].lower() + type(value).__name__[1:]: value.path}
        if isinstance(value, asset.StringAsset):
            return {"stringAsset": value.text}
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if not k.startswith("__")}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return plain(value)


def _unknown_paths(value: Any, path: str) -> list[str]:
    from pulumi.output import Unknown

    if isinstance(value, Unknown):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _unknown_paths(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _unknown_paths(v, f"{path}[{i}]")]
    return []


def _recording_monitor(mocks: Any) -> Any:
    from pulumi.runtime import rpc
    from pulumi.runtime.mocks import MockMonitor

    class RecordingMonitor(MockMonitor):
        """Mock monitor that keeps every registration, components and the stack included."""

        def __init__(self) -> None:
            super().__init__(mocks)
            self.records: list[PreviewResource] = []
            self.unknown: list[UnknownInput] = []
            self.stack_outputs: dict[str, Any] = {}
            self.stack_urn = ""

        def RegisterResource(self, request: Any) -> Any:
            response = super().RegisterResource(request)
            urn = response.urn
            if request.type == "pulumi:pulumi:Stack":
                self.stack_urn = urn
            inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
            deps = {k: list(v.urns) for k, v in request.propertyDependencies.items() if v.urns}
            for key, urns in deps.items():
                if key not in inputs:
                    self.unknown.append(UnknownInput(urn, key, urns))
            for key, value in inputs.items():
                for path in _unknown_paths(value, key):
                    self.unknown.append(UnknownInput(urn, path, deps.get(key, [])))
            registered = self.resources.get(urn)
            self.records.append(
                PreviewResource(
                    urn=urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent or None,
                    custom=bool(request.custom),
                    inputs=_plain(inputs),
                    outputs=_plain(registered.state) if registered and request.custom else {},
                    provider=request.provider or None,
                    dependencies=list(request.dependencies),
                    property_dependencies=deps,
                )
            )
            return response

        def RegisterResourceOutputs(self, request: Any) -> Any:
            if request.urn == self.stack_urn:
                self.stack_outputs = _plain(rpc.deserialize_properties(request.outputs, keep_unknowns=True))
            return super().RegisterResourceOutputs(request)

    return RecordingMonitor()


_PLACEHOLDER_ROOT = object()


class _ErrorLog(logging.Handler):
    """Collects errors the program logs through the engine (``pulumi.log.error``): those fail the preview."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while the program runs.

    Importing the provider SDKs' type and input classes during the run keeps tripping the collector: on the
    Azure stack five full collections over a heap of ~270,000 tracked objects and hundreds of young ones,
    ~0.4 s of CPU, a quarter of the run. A run's cyclic garbage is ~10 MB; it is collected as usual once the
    collector is back on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        _no_collection_at_exit()


@functools.cache
def _no_collection_at_exit() -> None:
    """Skip the interpreter's final full collection, the last step before the process ends.

    After a preview it walks and frees every SDK object and the run's garbage: ~0.8 s of CPU on a large
    stack, for memory the operating system takes back anyway. atexit callbacks run before that
    collection; freezing moves every object out of its reach.
    """
    atexit.register(gc.freeze)


async def _drain_outputs() -> None:
    """Wait until every tracked output has settled or one has failed, in linear time.

    Pulumi's ``wait_for_rpcs`` waits for the *first* of all pending outputs to finish, then starts over with
    the rest: quadratic in the number of outputs (tens of thousands in a large stack). Waiting for all of
    them at once leaves it nothing to wait for; it still re-raises a failed output and checks the RPCs.
    """
    from pulumi.runtime.settings import SETTINGS

    while True:
        with SETTINGS.lock:
            pending = [task for task in SETTINGS.outputs if not task.done()]
        if not pending:
            return
        done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
        if any(task.cancelled() or task.exception() is not None for task in done):
            return


@contextlib.contextmanager
def _outputs_drained_first() -> Iterator[None]:
    from pulumi.runtime import stack

    wait_for_rpcs = stack.wait_for_rpcs

    async def drain_then_wait(await_all_outstanding_tasks: bool = True) -> None:
        if await_all_outstanding_tasks:
            await _drain_outputs()
        await wait_for_rpcs(await_all_outstanding_tasks)

    stack.wait_for_rpcs = drain_then_wait
    try:
        yield
    finally:
        stack.wait_for_rpcs = wait_for_rpcs


def _without_type_version_aliases(program: Callable[[], Any]) -> Any:
    """Run ``program`` with the SDK-generated aliases to other API versions of the same type left out.

    azure-native gives each resource an alias per past API version (60 on a VirtualNetwork, ~2,500 in the
    Azure stack) and pulumi turns each into URN outputs: most of the stack's run time. Aliases only let the
    engine find state recorded under an old type token; an offline preview has no state and records no
    aliases, so what it records is the same. Aliases a program sets itself (names, parents, projects) stay.
    """
    import pulumi

    def transformation(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        aliases = args.opts.aliases or []
        kept = [alias for alias in aliases if not _is_type_version_alias(alias, args.type_)]
        if len(kept) == len(aliases):
            return None
        opts = copy.copy(args.opts)
        opts.aliases = kept
        return pulumi.ResourceTransformationResult(args.props, opts)

    pulumi.runtime.register_stack_transformation(transformation)
    return program()


def _is_type_version_alias(alias: Any, type_token: str) -> bool:
    """``Alias(type_="azure-native:network/v20180101:VirtualNetwork")`` on ``azure-native:network:VirtualNetwork``."""
    import pulumi

    if not isinstance(alias, pulumi.Alias) or not isinstance(alias.type_, str):
        return False
    if any(value is not ... for value in (alias.name, alias.parent, alias.stack, alias.project)):
        return False
    package, _, kind = type_token.partition(":")
    alias_package, _, alias_kind = alias.type_.partition(":")
    return alias_package == package and alias_kind.rpartition(":")[2] == kind.rpartition(":")[2]


def run_under_mocks(
    program: Callable[[], Any],
    *,
    project: str,
    stack: str,
    config: dict[str, str] | None = None,
    secret_keys: list[str] | None = None,
    region: str = "me-central-1",
    source: str = "",
) -> PreviewResult:
    """Run ``program`` inside a stack under the recording mocks; the building block of every preview and test."""
    import pulumi
    from pulumi.runtime import config as runtime_config
    from pulumi.runtime import settings
    from pulumi.runtime.stack import run_in_stack, run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from infra.preview import sdk_imports
    from infra.preview.mocks import PlatformMocks

    sdk_imports.install()
    monitor = _recording_monitor(PlatformMocks(region=region))
    error_log = _ErrorLog()
    logger = logging.getLogger(f"mlops.preview.{project}.{stack}")
    logger.propagate = False
    logger.handlers[:] = [error_log]
    # set_mocks makes a finished root stack of its own; hold its place so run_in_stack makes the real one,
    # whose outputs (pulumi.export) are registered when the program ends, as under the engine.
    settings.ROOT.set(_PLACEHOLDER_ROOT)
    pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=True, logger=logger, monitor=monitor)
    settings.ROOT.set(None)
    settings.SETTINGS.rpc_manager.clear()
    settings.SETTINGS.outputs.clear()
    runtime_config.set_all_config(dict(config or {}), list(secret_keys or []))
    with _gc_paused(), _outputs_drained_first():
        _sync_await(run_pulumi_func(lambda: run_in_stack(lambda: _without_type_version_aliases(program))))
    if error_log.messages:
        raise PreviewError(f"stack {stack}: the program reported errors:\n  " + "\n  ".join(error_log.messages))
    return PreviewResult(
        project=project,
        stack=stack,
        source=source,
        resources=monitor.records,
        outputs=monitor.stack_outputs,
        unknown_inputs=monitor.unknown,
    )


def preview(program_dir: Path, stack: str | None = None) -> PreviewResult:
    """Run the program for ``stack`` under mocks and return every resource it registered."""
    project = load_project(program_dir)
    if stack is None:
        stacks = project.stacks()
        if len(stacks) != 1:
            raise PreviewError(f"{project.root}: name the stack with --stack (stacks here: {', '.join(stacks) or 'none'})")
        stack = stacks[0]
    config, secret_keys = load_stack_config(project, stack)

    def program() -> None:
        runpy.run_path(str(project.main), run_name="__main__")

    added = [p for p in (str(project.root), str(project.main.parent)) if p not in sys.path]
    sys.path[:0] = added
    try:
        return run_under_mocks(
            program,
            project=project.name,
            stack=stack,
            config=config,
            secret_keys=secret_keys,
            region=_guess_region(config),
            source=str(project.stack_file(stack)),
        )
    except PreviewError:
        raise
    except Exception as exc:  # noqa: BLE001 - every program failure becomes one clear message
        raise PreviewError(_describe_failure(exc, project, stack)) from exc
    finally:
        for p in added:
            sys.path.remove(p)


def _guess_region(config: dict[str, str]) -> str:
    for key in ("aws:region", "azure-native:location"):
        if key in config:
            return config[key]
    for key, value in config.items():
        if key.endswith(":region"):
            return value
    return "me-central-1"


def _describe_failure(exc: BaseException, project: Project, stack: str) -> str:
    from infra.config import ConfigError

    root: BaseException = exc
    while root.__cause__ is not None or root.__context__ is not None:
        if isinstance(root, ConfigError):
            break
        root = root.__cause__ or root.__context__  # type: ignore[assignment]
    if isinstance(root, ConfigError) or type(exc).__name__ == "RunError":
        return str(root if isinstance(root, ConfigError) else exc)
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(str(project.root)) and "/.venv" not in filename:
            where = f" (at {Path(filename).relative_to(project.root)}:{tb.tb_lineno})"
        tb = tb.tb_next
    return f"stack {stack}: the program failed: {type(exc).__name__}: {exc}{where}"


def preview_stack(stack: str) -> PreviewResult:
    """Offline preview of one of this project's stacks (``stacks/Pulumi.<stack>.yaml``)."""
    return preview(REPO_ROOT, stack)


def project_stacks() -> list[str]:
    return load_project(REPO_ROOT).stacks()

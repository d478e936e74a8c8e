"""Offline preview: run a Pulumi Python program in-process under Pulumi's mocks, with no CLI and no cloud.

Works for this project's stacks and for any Pulumi Python program directory (its ``Pulumi.yaml`` and
``Pulumi.<stack>.yaml``). Records every resource registration (components included) with its parent,
resolved inputs and property dependencies, and reports inputs that resolved to unknown.

As ``pulumi preview`` does, the program runs in its own directory with its stack's config (``Pulumi.<stack>.yaml``,
provider keys such as ``aws:region`` included; ``secure:`` values become placeholder secrets). Each preview runs in
a forked child process stopped after a time limit (``--preview-timeout``, ``$MLOPS_PREVIEW_TIMEOUT``, 120 s by
default). ``pulumi.StackReference`` reaches no backend here: give the referenced stacks' outputs in the stack
config as ``mlops:stackReferences: {"org/project/stack": {"outputName": value}}``.

Speed measures (on by default; ``MLOPS_PREVIEW_SPEED_MEASURES=0`` turns them all off for stock Pulumi behaviour,
to rule them out when a preview looks wrong): shallow SDK packages (:mod:`policies.preview.sdk_imports`), no
cyclic garbage collection during the run, outputs awaited all at once instead of Pulumi's ``wait_for_rpcs`` loop,
and the SDKs' type-version aliases left out. None of them changes what a preview records
(tests/policies/preview/test_preview_speed_measures.py compares the records with and without them).
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
import os
import runpy
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

from policies.preview.model import UNKNOWN, PreviewResource, PreviewResult, UnknownInput

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
        raise PreviewError(
            f"{project_file}: runtime is {runtime_name!r}; the offline preview runs Python programs only"
        )
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
        elif _has_secure(value):  # secure values inside an object or list: the whole key is secret, as in Pulumi
            secret_keys.append(full_key)
            config[full_key] = _config_text(_placeholders(value, full_key))
        else:
            config[full_key] = _config_text(value)
    return config, secret_keys


def _has_secure(value: Any) -> bool:
    if isinstance(value, dict):
        return set(value) == {"secure"} or any(_has_secure(v) for v in value.values())
    return isinstance(value, list) and any(_has_secure(v) for v in value)


def _placeholders(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return f"[secret {key}: not decrypted by the offline preview]"
        return {k: _placeholders(v, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholders(v, key) for v in value]
    return value


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
        if isinstance(value, asset.RemoteAsset):
            return {"remoteAsset": value.uri}
        if isinstance(value, asset.RemoteArchive):
            return {"remoteArchive": value.uri}
        if isinstance(value, asset.AssetArchive):
            return {"assetArchive": {k: plain(v) for k, v in value.assets.items()}}
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if not k.startswith("__")}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if value is None or isinstance(value, (str, int, float, bool)):
            return value
        return str(value)  # anything else is recorded as text: the result stays plain JSON

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


def _resource_refs_as_ids(struct: Any) -> Any:
    """A copy of ``struct`` with each resource reference replaced by the resource's id (a component's: its URN).

    That is what the engine hands a provider that takes no resource references, and what the record keeps.
    Deserializing a reference as is constructs the resource (``ResourceModule.construct``), whose lookup is
    scheduled on the monitor thread's own event loop, which never runs: the preview would wait forever.
    """
    from google.protobuf import struct_pb2
    from pulumi.runtime import rpc

    def has_ref(value: Any) -> bool:
        kind = value.WhichOneof("kind")
        if kind == "struct_value":
            fields = value.struct_value.fields
            sig = fields.get(rpc._special_sig_key)
            if sig is not None and sig.string_value == rpc._special_resource_sig:
                return True
            return any(has_ref(v) for v in fields.values())
        if kind == "list_value":
            return any(has_ref(v) for v in value.list_value.values)
        return False

    def replace(value: Any) -> None:
        kind = value.WhichOneof("kind")
        if kind == "struct_value":
            fields = value.struct_value.fields
            sig = fields.get(rpc._special_sig_key)
            if sig is not None and sig.string_value == rpc._special_resource_sig:
                ref_id = fields["id"].string_value if "id" in fields else ""
                if "id" in fields and not ref_id:
                    value.string_value = rpc.UNKNOWN
                else:
                    value.string_value = ref_id or fields["urn"].string_value
                return
            for v in fields.values():
                replace(v)
        elif kind == "list_value":
            for v in value.list_value.values:
                replace(v)

    if not any(has_ref(v) for v in struct.fields.values()):
        return struct
    copied = struct_pb2.Struct()
    copied.CopyFrom(struct)
    for v in copied.fields.values():
        replace(v)
    return copied


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
            flat = _resource_refs_as_ids(request.object)
            if flat is not request.object:  # the mocks see ids where the program passed resources, as providers do
                copied = type(request)()
                copied.CopyFrom(request)
                copied.object.CopyFrom(flat)
                request = copied
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
                outputs = rpc.deserialize_properties(_resource_refs_as_ids(request.outputs), keep_unknowns=True)
                self.stack_outputs = _plain(outputs)
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


SPEED_MEASURES_ENV = "MLOPS_PREVIEW_SPEED_MEASURES"


def speed_measures() -> bool:
    """Whether the preview's speed measures are on: yes unless ``$MLOPS_PREVIEW_SPEED_MEASURES`` is ``0``, ``off``,
    ``false`` or ``no``. Off, a preview runs Pulumi's own code paths only (slower; the Azure stack most of all)."""
    return os.environ.get(SPEED_MEASURES_ENV, "1").strip().lower() not in ("0", "off", "false", "no")


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


class ProgramExited(Exception):
    """The program raised SystemExit (``sys.exit``) or another BaseException instead of finishing its run."""

    def __init__(self, exc: BaseException) -> None:
        if isinstance(exc, SystemExit):
            what = f"sys.exit({exc.code!r})" if exc.code is not None else "sys.exit()"
        else:
            what = f"{type(exc).__name__}{': ' + str(exc) if str(exc) else ''}"
        super().__init__(what)
        self.what = what


class StackReferenceMissing(Exception):
    """A ``pulumi.StackReference`` the stack config gives no outputs for (``mlops:stackReferences``)."""


def _exits_as_errors(program: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        try:
            return program()
        except Exception:
            raise
        except BaseException as exc:  # noqa: BLE001 - sys.exit() and friends end the preview with a clear message
            raise ProgramExited(exc) from None

    return run


def _exited_message(stack: str, what: str) -> str:
    return (
        f"stack {stack}: the program exited ({what}) before it finished; the offline preview needs it to run to its end"
    )


def run_under_mocks(
    program: Callable[[], Any],
    *,
    project: str,
    stack: str,
    config: dict[str, str] | None = None,
    secret_keys: list[str] | None = None,
    region: str = "me-central-1",
    source: str = "",
    stack_references: dict[str, dict[str, Any]] | None = None,
    provider_defaults: dict[str, dict[str, Any]] | None = None,
) -> PreviewResult:
    """Run ``program`` inside a stack under the recording mocks; the building block of every preview and test."""
    import pulumi
    from pulumi.runtime import config as runtime_config
    from pulumi.runtime import settings
    from pulumi.runtime.stack import run_in_stack, run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from policies.preview import sdk_imports
    from policies.preview.mocks import PlatformMocks

    fast = speed_measures()
    if fast:
        sdk_imports.install()
    azure_location = (config or {}).get("azure-native:location")
    monitor = _recording_monitor(
        PlatformMocks(region=region, stack_references=stack_references, azure_location=azure_location)
    )
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
    guarded = _exits_as_errors(program)
    measures = (
        (_gc_paused(), _outputs_drained_first()) if fast else (contextlib.nullcontext(), contextlib.nullcontext())
    )
    body = (lambda: _without_type_version_aliases(guarded)) if fast else guarded
    try:
        with measures[0], measures[1]:
            _sync_await(run_pulumi_func(lambda: run_in_stack(body)))
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        exited = next((link for link in _causes(exc) if isinstance(link, ProgramExited)), None)
        if exited is not None:
            raise PreviewError(_exited_message(stack, exited.what)) from None
        raise
    except BaseException as exc:  # noqa: BLE001 - sys.exit() in an apply callback escapes the event loop
        raise PreviewError(_exited_message(stack, ProgramExited(exc).what)) from None
    if error_log.messages:
        raise PreviewError(f"stack {stack}: the program reported errors:\n  " + "\n  ".join(error_log.messages))
    return PreviewResult(
        project=project,
        stack=stack,
        source=source,
        resources=monitor.records,
        outputs=monitor.stack_outputs,
        unknown_inputs=monitor.unknown,
        provider_defaults=dict(provider_defaults or {}),
    )


DEFAULT_TIMEOUT_S = 120.0
TIMEOUT_ENV = "MLOPS_PREVIEW_TIMEOUT"
STACK_REFERENCES_KEY = "mlops:stackReferences"
"""Stack config key giving the outputs of the stacks a program references (``pulumi.StackReference``):
``{"org/project/stack": {"outputName": value}}``. The offline preview reaches no backend; without this key a
StackReference fails the preview with a message naming the stack."""


def preview_timeout(timeout: float | None = None) -> float | None:
    """The time limit of one stack's preview: ``timeout``, else ``$MLOPS_PREVIEW_TIMEOUT``, else 120 s; 0: none."""
    import os

    if timeout is None:
        raw = os.environ.get(TIMEOUT_ENV, "").strip()
        if not raw:
            return DEFAULT_TIMEOUT_S
        try:
            timeout = float(raw)
        except ValueError:
            raise PreviewError(f"{TIMEOUT_ENV}={raw!r}: expected a number of seconds (0: no limit)") from None
    if timeout < 0:
        raise PreviewError(f"the preview time limit must be 0 (none) or more seconds, got {timeout:g}")
    return timeout or None


def provider_defaults(project: Project, config: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Default providers' config from the stack config: ``aws:region`` -> ``{"aws": {"region": ...}}``."""
    defaults: dict[str, dict[str, Any]] = {}
    for key, text in config.items():
        package, _, name = key.partition(":")
        if package in (project.name, "mlops") or not name:
            continue
        try:
            value = json.loads(text) if text[:1] in "[{" else text
        except ValueError:
            value = text
        defaults.setdefault(package, {})[name] = value
    return defaults


def _stack_references(raw_config: dict[str, Any], where: Path) -> dict[str, dict[str, Any]]:
    refs = raw_config.get(STACK_REFERENCES_KEY) or {}
    if not isinstance(refs, dict) or not all(isinstance(v, dict) for v in refs.values()):
        raise PreviewError(
            f"{where}: '{STACK_REFERENCES_KEY}' must map stack names (org/project/stack) to their outputs"
        )
    return refs


def _resolve_stack(project: Project, stack: str | None) -> str:
    if stack is not None:
        return stack
    stacks = project.stacks()
    if len(stacks) != 1:
        raise PreviewError(f"{project.root}: name the stack with --stack (stacks here: {', '.join(stacks) or 'none'})")
    return stacks[0]


def preview(program_dir: Path, stack: str | None = None, *, timeout: float | None = None) -> PreviewResult:
    """Run the program for ``stack`` under mocks and return every resource it registered.

    The run happens in a forked child process killed at the time limit (:func:`preview_timeout`), so a program
    that loops or waits forever ends with a clear error; the result is the same as in-process.
    """
    project = load_project(program_dir)
    stack = _resolve_stack(project, stack)
    limit = preview_timeout(timeout)
    return run_isolated([functools.partial(_preview_in_process, project, stack)], [f"stack {stack}"], limit)[0]


def preview_many(program_dir: Path, stacks: list[str], *, timeout: float | None = None) -> list[PreviewResult]:
    """Several stacks of one program, one child process each and at most one per CPU at a time, in order."""
    import os

    project = load_project(program_dir)
    asked: list[str | None] = list(stacks) or [None]
    names = [_resolve_stack(project, s) for s in asked]
    limit = preview_timeout(timeout)
    jobs = [functools.partial(_preview_in_process, project, name) for name in names]
    return run_isolated(jobs, [f"stack {name}" for name in names], limit, workers=os.cpu_count() or 1)


def _preview_in_process(project: Project, stack: str) -> PreviewResult:
    import os

    config, secret_keys = load_stack_config(project, stack)
    raw = _read_yaml(project.stack_file(stack)).get("config") or {}
    refs = _stack_references(raw, project.stack_file(stack))

    def program() -> None:
        runpy.run_path(str(project.main), run_name="__main__")

    added = [p for p in (str(project.root), str(project.main.parent)) if p not in sys.path]
    sys.path[:0] = added
    cwd = os.getcwd()
    try:
        os.chdir(project.main.parent)  # as the Pulumi CLI runs it: relative paths (./www) are the program's own
        return run_under_mocks(
            program,
            project=project.name,
            stack=stack,
            config=config,
            secret_keys=secret_keys,
            region=_guess_region(config),
            source=str(project.stack_file(stack)),
            stack_references=refs,
            provider_defaults=provider_defaults(project, config),
        )
    except PreviewError:
        raise
    except Exception as exc:
        raise PreviewError(_describe_failure(exc, project, stack)) from exc
    finally:
        os.chdir(cwd)
        for p in added:
            if p in sys.path:
                sys.path.remove(p)


def _guess_region(config: dict[str, str]) -> str:
    for key in ("aws:region", "azure-native:location"):
        if key in config:
            return config[key]
    for key, value in config.items():
        if key.endswith(":region"):
            return value
    return "me-central-1"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and its causes / contexts, each once: a chain may loop back on itself."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _describe_failure(exc: BaseException, project: Project, stack: str) -> str:
    from components.errors import InputError
    from policies.organisation import ConfigError

    chain = list(_causes(exc))
    for link in chain:
        if isinstance(link, ProgramExited):
            return _exited_message(stack, link.what)
        if isinstance(link, StackReferenceMissing):
            return f"stack {stack}: {link}"
        if isinstance(link, (ConfigError, InputError)):  # meant for the user as is: no type, no traceback
            return str(link)
    if type(exc).__name__ == "RunError":
        return str(exc)
    root = chain[-1]
    if isinstance(root, NotImplementedError) and "offline preview" in str(root):
        exc = root  # an invoke the mocks cannot answer: its own message says which
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(str(project.root)) and "/.venv" not in filename:
            with contextlib.suppress(ValueError):
                where = f" (at {Path(filename).relative_to(project.root)}:{tb.tb_lineno})"
        tb = tb.tb_next
    return f"stack {stack}: the program failed: {type(exc).__name__}: {exc}{_sdk_hint(exc)}{where}"


def _sdk_hint(exc: BaseException) -> str:
    """For a name or module a provider SDK lacks: which version is installed (public programs target others)."""
    import re

    if not isinstance(exc, (ImportError, AttributeError)):
        return ""
    match = re.search(r"'(pulumi_[a-z0-9_]+)", str(exc))
    if match is None:
        return ""
    package = match.group(1).split(".")[0]
    from importlib import metadata

    distribution = package.replace("_", "-")
    try:
        version = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return f"; {distribution} is not installed"
    return f"; {distribution} {version} is installed, the program may be written for another major version of it"


def preview_stack(stack: str, *, timeout: float | None = None) -> PreviewResult:
    """Offline preview of one of this project's stacks (``stacks/Pulumi.<stack>.yaml``)."""
    return preview(REPO_ROOT, stack, timeout=timeout)


def project_stacks() -> list[str]:
    return load_project(REPO_ROOT).stacks()


# --- isolation: each preview in a forked child, killed at its deadline ------------------------------------------

_IN_CHILD = False
"""True in a preview's child process: previews started there run in-process (the parent keeps the deadline)."""


def can_isolate() -> bool:
    import multiprocessing

    return not _IN_CHILD and "fork" in multiprocessing.get_all_start_methods()


def run_isolated(
    jobs: Sequence[Callable[[], Any]], labels: Sequence[str], timeout: float | None, workers: int = 1
) -> list[Any]:
    """Run each job in a forked child process (own process group), at most ``workers`` at once; results in order.

    A job that raises fails with its message (a :class:`PreviewError` keeps its own); the first failure in job
    order is raised once the jobs before it are done, and later ones are stopped. A job still running after
    ``timeout`` seconds is killed with its whole process group. Where fork is not available (or already in a
    child) the jobs run here, one after the other, without a time limit.
    """
    if not can_isolate():
        return [job() for job in jobs]
    import multiprocessing
    import os
    import signal
    import time
    from multiprocessing.connection import wait

    with contextlib.suppress(ImportError):  # shared by every child instead of imported by each
        import pulumi.runtime  # noqa: F401

    import threading

    # Forking a process that runs other threads (a test process after in-process previews: pulumi's executor,
    # gRPC) can abort or deadlock the child, and it inherits half-imported SDK state; such a parent gets its
    # children from a fresh fork server instead (slower to start, same isolation and time limit).
    ctx = multiprocessing.get_context("fork" if threading.active_count() == 1 else "forkserver")
    pending = list(range(len(jobs)))
    running: dict[Any, tuple[int, Any, float | None]] = {}
    results: dict[int, Any] = {}
    errors: dict[int, str] = {}

    def kill(process: Any) -> None:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            process.kill()
        process.join()

    try:
        while pending or running:
            first_error = min(errors, default=len(jobs))
            pending = [i for i in pending if i < first_error]
            for conn, (i, process, _) in list(running.items()):
                if i > first_error:
                    kill(process)
                    conn.close()
                    del running[conn]
            while pending and len(running) < max(1, workers):
                i = pending.pop(0)
                receiver, sender = ctx.Pipe(duplex=False)
                process = ctx.Process(
                    target=_child_main, args=(jobs[i], labels[i], sender), name=f"preview {labels[i]}"
                )
                process.start()
                sender.close()
                with contextlib.suppress(OSError, TypeError):
                    os.setpgid(process.pid, process.pid)  # type: ignore[arg-type]  # started: it has a pid
                running[receiver] = (i, process, time.monotonic() + timeout if timeout else None)
            if not running:
                break
            deadlines = [d for _, _, d in running.values() if d is not None]
            wait_s = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            for ready in wait(list(running), timeout=wait_s):
                conn = cast(Any, ready)
                i, process, _ = running.pop(conn)
                try:
                    ok, payload = conn.recv()  # (True, result) or (False, message)
                except (EOFError, OSError):
                    process.join()
                    ok, payload = (
                        False,
                        f"{labels[i]}: the preview process ended without a result (exit status {process.exitcode})",
                    )
                conn.close()
                process.join()
                (results if ok else errors)[i] = payload
            now = time.monotonic()
            for conn, (i, process, deadline) in list(running.items()):
                if deadline is not None and now >= deadline:
                    kill(process)
                    conn.close()
                    del running[conn]
                    errors[i] = (
                        f"{labels[i]}: the program did not finish within {timeout:g} s (a loop, or a call waiting "
                        f"forever); raise the limit with --preview-timeout or {TIMEOUT_ENV} if it is only slow"
                    )
    finally:
        for conn, (_, process, _) in running.items():
            kill(process)
            conn.close()
    if errors:
        raise PreviewError(errors[min(errors)])
    return [results[i] for i in range(len(jobs))]


def _child_main(job: Callable[[], Any], label: str, sender: Any) -> None:
    import os

    global _IN_CHILD
    _IN_CHILD = True
    import warnings

    # A failed run leaves tasks and coroutines behind; their warnings would bury the one clear message.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    # The parent's event loop came along, its default executor's threads did not: work handed to them (Pulumi
    # runs every monitor call in the executor) would wait forever. A fresh loop makes a fresh executor.
    asyncio.set_event_loop(asyncio.new_event_loop())
    try:
        outcome: tuple[bool, Any] = (True, job())
    except PreviewError as exc:
        outcome = (False, str(exc))
    except BaseException as exc:  # noqa: BLE001 - whatever ends the child comes back as one clear message
        if isinstance(exc, (SystemExit, KeyboardInterrupt)) or not isinstance(exc, Exception):
            outcome = (False, _exited_message(label.removeprefix("stack "), ProgramExited(exc).what))
        else:
            outcome = (False, f"{label}: the preview failed: {type(exc).__name__}: {exc}")
    try:
        sender.send(outcome)
    except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be pickled
        sender.send((False, f"{label}: the preview's result could not be returned: {type(exc).__name__}: {exc}"))
    sender.close()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip the interpreter's teardown: the parent has the result

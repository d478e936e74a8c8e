"""One Checkov run over every stack asked, and the way from its results back to the Pulumi resources.

Fail closed: anything short of a complete, trustworthy scan raises :class:`CheckovError` (exit 2): Checkov
missing, crashing, timing out, printing something that is not its JSON report, logging a check error (a custom
check that raises only logs ``ERROR`` and its result vanishes), a parsing error, a result that cannot be traced back
to a Pulumi resource, or results for fewer resources than were sent.

Checkov runs from its own environment (``.venv-checkov``; ``MLOPS_CHECKOV`` names another executable): current
Checkov pins ``packaging<24`` and pulumi needs ``packaging>=26``. It never calls the vendor API
(``BC_SKIP_MAPPING=TRUE``, no API key, ``--skip-download``, no package update check).
"""

from __future__ import annotations

import ast
import contextlib
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from policies.translate.model import Origin, TranslatedStack

REPO_ROOT = Path(__file__).resolve().parents[1]
CHECKS_DIR = REPO_ROOT / "policies" / "checks"
DEFAULT_TIMEOUT_S = 300.0
FRAMEWORKS = ("terraform_plan", "arm", "kubernetes")
CUSTOM_PREFIX = "CKV_MLOPS_"
_CHECK_ERROR = re.compile(r"\[ERROR\]\s+(.*)")
_BASE_MODULE_FRAMEWORK = {
    "checkov.terraform": "terraform_plan",
    "checkov.arm": "arm",
    "checkov.kubernetes": "kubernetes",
}
_SOURCE_LINK = "https://github.com/bridgecrewio/checkov/blob/main/{path}.py"


class CheckovError(Exception):
    """Checkov could not give a complete, trustworthy result. The message is for the user, as is."""


@dataclass(frozen=True)
class CheckResult:
    """One check on one translated resource, traced back to its Pulumi resource."""

    check_id: str
    check_name: str
    result: str
    """``PASSED``, ``FAILED`` or ``SKIPPED`` as Checkov reports it (suppressions are applied later, by the gate)."""
    framework: str
    file: str
    """Relative to the stack's folder: ``tfplan.json``, ``arm.json``, ``k8s/<n>.yaml``."""
    resource_id: str
    origin: Origin
    scanned_path: str
    """The file as Checkov names it: ``/<stack folder>/<file>``."""
    guideline: str | None = None
    evaluated_keys: tuple[str, ...] = ()


@dataclass
class CheckovRun:
    results: list[CheckResult]
    version: str
    wall_s: float
    command: list[str]
    resources_sent: int
    custom_checks: dict[str, CustomCheck] = field(default_factory=dict)


@dataclass(frozen=True)
class CustomCheck:
    """What a custom check file declares, read statically (Checkov loads it in its own environment, not here)."""

    id: str
    framework: str | None
    resources: tuple[str, ...]
    """Entity types it applies to (glob patterns as Checkov allows); empty when not a literal in the file."""
    path: str
    severity: str | None = None
    """The severity the check declares (``BcSeverities.HIGH``), where it is literal in the file."""
    may_abstain: bool = False
    """The check can return ``CheckResult.UNKNOWN`` (e.g. the GPU taint check on a CPU node group): Checkov then
    reports nothing, so having no result proves nothing either way. That it was loaded is shown instead by its
    folder (every folder up to the checks folder has ``__init__.py``) and by a Checkov run without load errors."""


def checkov_executable() -> Path:
    """``MLOPS_CHECKOV`` if set, else the pinned Checkov in ``.venv-checkov`` next to this repository."""
    override = os.environ.get("MLOPS_CHECKOV")
    candidate = Path(override) if override else REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
    if not candidate.is_file() or not os.access(candidate, os.X_OK):
        how = "MLOPS_CHECKOV points to" if override else "expected the pinned Checkov at"
        raise CheckovError(
            f"Checkov is missing: {how} {candidate}, which is not an executable file. "
            "Run `make setup` (it builds .venv-checkov from policies/requirements-checkov.lock) or set MLOPS_CHECKOV."
        )
    return candidate


def framework_of(path: str) -> str | None:
    """Which framework reads a translated file (``tfplan*.json``, ``arm*.json``, ``k8s/*.yaml``); None for others."""
    name = path.rsplit("/", 1)[-1]
    if "/" not in path and name.startswith("tfplan") and name.endswith(".json"):
        return "terraform_plan"
    if "/" not in path and name.startswith("arm") and name.endswith(".json"):
        return "arm"
    if path.startswith("k8s/") and name.endswith((".yaml", ".yml")):
        return "kubernetes"
    return None


def entity_type(framework: str, resource_id: str) -> str:
    """The entity type Checkov matches checks on, from its resource id."""
    if framework == "arm":
        slash = resource_id.rfind("/")
        dot = resource_id.find(".", slash)
        return resource_id[:dot] if dot > 0 else resource_id
    return resource_id.split(".", 1)[0]


def _serialise(path: str, document: Any) -> str:
    if isinstance(document, (str, bytes)):
        return document.decode() if isinstance(document, bytes) else document
    if not path.endswith((".yaml", ".yml")):
        return json.dumps(document, indent=1, default=str)
    import yaml

    if isinstance(document, list):
        return yaml.safe_dump_all(document, sort_keys=False)
    return yaml.safe_dump(document, sort_keys=False)


def stack_dirs(stacks: list[TranslatedStack]) -> list[str]:
    """One folder name per stack, unique even when two inputs carry the same stack name."""
    names: list[str] = []
    for stack in stacks:
        base = re.sub(r"[^A-Za-z0-9._-]", "_", stack.stack) or "stack"
        name, n = base, 2
        while name in names:
            name, n = f"{base}~{n}", n + 1
        names.append(name)
    return names


def write_inputs(stacks: list[TranslatedStack], root: Path) -> dict[tuple[str, str], tuple[str, str, Origin]]:
    """Write every stack's files under ``root/<stack>/``; return Checkov's (file_path, resource id) -> origin."""
    sent: dict[tuple[str, str], tuple[str, str, Origin]] = {}
    for stack, folder in zip(stacks, stack_dirs(stacks), strict=True):
        for rel, document in stack.files.items():
            target = root / folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_serialise(rel, document))
        for (rel, resource_id), origin in stack.origins.items():
            if framework_of(rel) is None:
                raise CheckovError(
                    f"stack {stack.stack}: translated file {rel!r} is not one Checkov reads "
                    "(tfplan*.json, arm*.json, k8s/*.yaml)"
                )
            if rel not in stack.files:
                raise CheckovError(
                    f"stack {stack.stack}: resource {origin.urn} points at {rel!r}, which translation did not write"
                )
            sent[(f"/{folder}/{rel}", resource_id)] = (folder, rel, origin)
    return sent


def _module_constants(tree: ast.Module) -> dict[str, ast.AST]:
    return {
        t.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }


def _parse(path: Path) -> ast.Module:
    try:
        return ast.parse(path.read_text(), str(path))
    except (SyntaxError, OSError, UnicodeDecodeError) as exc:
        raise CheckovError(f"custom check {path}: cannot be read: {exc}") from None


def _framework(tree: ast.Module) -> str | None:
    return next(
        (
            fw
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
            for prefix, fw in _BASE_MODULE_FRAMEWORK.items()
            if node.module.startswith(prefix)
        ),
        None,
    )


_SEVERITY_NAMES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")


def _severity(tree: ast.Module) -> str | None:
    """``severity=BcSeverities.X`` or ``self.severity = Severities[BcSeverities.X]`` -> ``X``."""
    for node in ast.walk(tree):
        value = None
        if isinstance(node, ast.keyword) and node.arg == "severity":
            value = node.value
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Attribute) and t.attr == "severity" for t in node.targets
        ):
            value = node.value
            if isinstance(value, ast.Subscript):
                value = value.slice
        if isinstance(value, ast.Attribute) and value.attr in _SEVERITY_NAMES:
            return value.attr
    return None


def _supported(call: ast.Call, constants: dict[str, ast.AST]) -> tuple[str, ...] | None:
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    kinds = next(
        (
            _literal(keywords[k], constants)
            for k in ("supported_resources", "supported_kind", "supported_entities")
            if k in keywords
        ),
        None,
    )
    return tuple(str(k) for k in kinds) if isinstance(kinds, (list, tuple)) else None


def custom_checks(checks_dir: Path) -> dict[str, CustomCheck]:
    """The ``CKV_MLOPS_*`` checks a folder declares, with the framework and entity types each applies to where they
    are literal (in the check file or a helper module beside it, e.g. a base class that fixes the kinds)."""
    found: dict[str, CustomCheck] = {}
    for path in sorted(checks_dir.rglob("*.py")):
        tree = _parse(path)
        constants = _module_constants(tree)
        framework = _framework(tree)
        inherited: tuple[str, ...] | None = None
        for node in tree.body:
            if not (isinstance(node, ast.ImportFrom) and node.module):
                continue
            sibling = path.parent / f"{node.module}.py"
            if sibling.is_file():
                sibling_tree = _parse(sibling)
                theirs = _module_constants(sibling_tree)
                constants.update({a.asname or a.name: theirs[a.name] for a in node.names if a.name in theirs})
                framework = framework or _framework(sibling_tree)
                for call in (n for n in ast.walk(sibling_tree) if isinstance(n, ast.Call)):
                    inherited = inherited or _supported(call, theirs)
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            keywords = {k.arg: k.value for k in call.keywords if k.arg}
            check_id = _literal(keywords.get("id"), constants)
            if not (isinstance(check_id, str) and check_id.startswith(CUSTOM_PREFIX)):
                continue
            resources = _supported(call, constants) or inherited or ()
            found[check_id] = CustomCheck(
                check_id, framework, resources, str(path), _severity(tree), "CheckResult.UNKNOWN" in ast.unparse(tree)
            )
    return found


def _literal(node: ast.AST | None, constants: dict[str, ast.AST]) -> Any:
    """A literal value, following module-level names; None where it is not a literal."""
    if isinstance(node, ast.Name):
        node = constants.get(node.id)
    if node is None:
        return None
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(e, constants) for e in node.elts]
        return None if any(i is None for i in items) else items
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        return None


def run_checkov(
    stacks: list[TranslatedStack],
    *,
    checks_dir: Path | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    keep_dir: Path | None = None,
    warm: WarmCheckov | None = None,
) -> CheckovRun:
    """Scan every stack's translated files in one Checkov process and trace each result to its Pulumi resource
    (``warm``: the process :func:`prestart` started, if any)."""
    executable = checkov_executable()
    checks_dir = (checks_dir or CHECKS_DIR).resolve()
    if not (checks_dir / "__init__.py").is_file():
        raise CheckovError(
            f"custom checks folder {checks_dir} has no __init__.py: Checkov would silently load none of its checks"
        )
    yaml_policies = sorted(str(p.relative_to(checks_dir)) for p in checks_dir.rglob("*.y*ml"))
    if yaml_policies:
        raise CheckovError(
            f"custom checks folder {checks_dir} holds YAML policies ({', '.join(yaml_policies)}): "
            "loading any YAML custom "
            "policy silently disables Checkov's built-in graph checks; write custom checks in Python"
        )
    declared = custom_checks(checks_dir)
    unloadable = sorted(
        f"{c.id} ({c.path})"
        for c in declared.values()
        if any(
            not (folder / "__init__.py").is_file()
            for folder in Path(c.path).parents
            if folder != checks_dir and checks_dir in folder.parents
        )
    )
    if unloadable:
        raise CheckovError(
            "custom checks in a sub-folder without __init__.py, which Checkov silently never loads (add __init__.py "
            "or move them):\n  " + "\n  ".join(unloadable)
        )
    if warm is not None and not warm.usable(executable, checks_dir, keep_dir):
        warm.close()
        warm = None
    root = (
        warm.root
        if warm is not None
        else Path(tempfile.mkdtemp(prefix="mlops-gate-"))
        if keep_dir is None
        else keep_dir
    )
    root.mkdir(parents=True, exist_ok=True)
    try:
        sent = write_inputs(stacks, root)
        _write_canary(stacks, sent, root)
        command = [str(executable), *_arguments(checks_dir)]
        started = time.perf_counter()
        proc = _run_warm(warm, command, timeout_s) if warm is not None else None
        if proc is None:
            proc = _run(command, root, _environment(root), timeout_s, executable)
        wall = time.perf_counter() - started
        reports = _parse_output(proc, executable)
        _check_canary(reports, sent)
        results = _trace(reports, sent)
        version = next((v for r in reports if (v := str(r.get("summary", {}).get("checkov_version") or ""))), "")
        if not version:
            raise CheckovError(
                f"Checkov's report names no checkov_version ({executable}): the gate cannot tell which Checkov "
                "and which built-in checks ran"
            )
        _check_complete(reports, results, sent, declared)
        return CheckovRun(results, version, wall, command, len(sent), declared)
    finally:
        if warm is not None:
            warm.close()
        if keep_dir is None:
            shutil.rmtree(root, ignore_errors=True)


CANARY_DIR = "gate~canary"
"""A folder no stack folder can be named (``stack_dirs`` never makes a ``~`` without a number after it)."""
_CANARY_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "gate-canary", "namespace": "gate-canary"},
    "spec": {"containers": [{"name": "c", "image": "canary", "securityContext": {"privileged": True}}]},
}


def _write_canary(stacks: list[TranslatedStack], sent: dict[tuple[str, str], tuple[str, str, Origin]], root: Path) -> None:
    """Checkov leaves a framework with no check result out of its JSON report, so a scan of manifests no check applies
    to (a Namespace, a NetworkPolicy) cannot be told from manifests never scanned. A privileged Pod beside them always
    gets results: its report must come back, and its resource count then covers every manifest sent."""
    if not any(framework_of(path.split("/", 2)[2]) == "kubernetes" for path, _ in sent):
        return
    from policies.translate import CONTEXT_FILE

    folder = root / CANARY_DIR
    (folder / "k8s").mkdir(parents=True, exist_ok=True)
    (folder / "k8s" / "canary.yaml").write_text(_serialise("canary.yaml", _CANARY_POD))
    context = next((s.files[CONTEXT_FILE] for s in stacks if CONTEXT_FILE in s.files), None)
    if context is not None:  # custom checks read the stack context from the scanned file's folder or its parents
        (folder / CONTEXT_FILE).write_text(_serialise(CONTEXT_FILE, context))


def _is_canary(file_path: str) -> bool:
    return file_path.startswith(f"/{CANARY_DIR}/")


def _check_canary(reports: list[dict[str, Any]], sent: dict[tuple[str, str], tuple[str, str, Origin]]) -> None:
    """The canary Pod must have results whenever manifests were sent; its results are then left out of the trace."""
    if not any(framework_of(path.split("/", 2)[2]) == "kubernetes" for path, _ in sent):
        return
    k8s = [r for r in reports if r.get("check_type") == "kubernetes"]
    found = any(
        _is_canary(record.get("file_path", ""))
        for report in k8s
        for bucket in ("passed_checks", "failed_checks")
        for record in report.get("results", {}).get(bucket, [])
    )
    if not found:
        raise CheckovError(
            "Checkov returned no result for the gate's canary Pod beside the Kubernetes manifests: "
            "the manifests were not scanned"
        )
    for report in k8s:  # the canary is no Pulumi resource: drop it, and its count, before tracing
        results = report.get("results", {})
        for bucket in ("passed_checks", "failed_checks", "skipped_checks"):
            results[bucket] = [r for r in results.get(bucket, []) if not _is_canary(r.get("file_path", ""))]
        summary = report.setdefault("summary", {})
        summary["resource_count"] = int(summary.get("resource_count", 0)) - 1


def _arguments(checks_dir: Path) -> list[str]:
    """Checkov's command-line arguments, run in the folder holding one sub-folder per stack."""
    return [
        "--directory",
        ".",
        "--framework",
        *FRAMEWORKS,
        "--external-checks-dir",
        str(checks_dir),
        "--output",
        "json",
        "--soft-fail",
        "--skip-download",
        "--compact",
    ]


def _environment(root: Path) -> dict[str, str]:
    """No vendor API (no key, no mapping download, no update check); warnings and errors only on stderr."""
    env = {k: v for k, v in os.environ.items() if k not in ("BC_API_KEY", "PRISMA_API_URL", "CKV_API_KEY")}
    env.update(
        BC_SKIP_MAPPING="TRUE", CKV_SKIP_PACKAGE_UPDATE_CHECK="TRUE", MLOPS_GATE_ROOT=str(root), LOG_LEVEL="WARNING"
    )
    return env


_NOT_CHECKOV = 97
"""Exit status of a warm process whose interpreter cannot import Checkov: the scan then starts cold."""
_WARM_CODE = f"""
import sys, warnings
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=SyntaxWarning)
        from checkov.main import Checkov
except Exception:
    sys.exit({_NOT_CHECKOV})
if sys.stdin.readline().strip() != "scan":
    sys.exit(0)
sys.argv[0] = "checkov"
with warnings.catch_warnings():
    warnings.simplefilter("ignore", category=SyntaxWarning)
    sys.exit(Checkov().run())
"""


@dataclass
class WarmCheckov:
    """Checkov started ahead of the scan: it imports its runners and built-in checks (about 3.5 of its 4.5 s of
    start-up) while the gate previews the stacks, then scans the folder when told to. Still one Checkov process and
    one scan; :func:`run_checkov` checks it the same way and falls back to a cold start when it cannot be used."""

    proc: subprocess.Popen[str]
    root: Path
    executable: Path
    checks_dir: Path

    def usable(self, executable: Path, checks_dir: Path, keep_dir: Path | None) -> bool:
        return (
            keep_dir is None
            and self.proc.poll() is None
            and self.executable == executable
            and self.checks_dir == checks_dir
        )

    def close(self) -> None:
        """End the process (and anything it started) if it still runs, and remove its folder."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.communicate()
        shutil.rmtree(self.root, ignore_errors=True)


def prestart(checks_dir: Path | None = None) -> WarmCheckov | None:
    """Start Checkov's import now, for a scan :func:`run_checkov` asks for later; None where the executable is not
    Checkov's own Python launcher (a stand-in, a missing file: the cold start then runs it or reports it)."""
    try:
        executable = checkov_executable()
        script = executable.read_text(errors="replace")
    except (CheckovError, OSError):
        return None
    first_line = script.split("\n", 1)[0]
    launcher = first_line.startswith("#!") and "python" in first_line and "from checkov.main import Checkov" in script
    interpreter = Path(first_line[2:].strip()) if launcher else None
    if interpreter is None or not interpreter.is_file() or not os.access(interpreter, os.X_OK):
        return None
    checks_dir = (checks_dir or CHECKS_DIR).resolve()
    root = Path(tempfile.mkdtemp(prefix="mlops-gate-"))
    try:
        proc = subprocess.Popen(
            [str(interpreter), "-c", _WARM_CODE, *_arguments(checks_dir)],
            cwd=root,
            env=_environment(root),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
    except OSError:
        shutil.rmtree(root, ignore_errors=True)
        return None
    return WarmCheckov(proc, root, executable, checks_dir)


def _run_warm(warm: WarmCheckov, command: list[str], timeout_s: float) -> subprocess.CompletedProcess[str] | None:
    """The warm process's scan; None when its interpreter turned out not to have Checkov (start cold instead)."""
    try:
        stdout, stderr = warm.proc.communicate(input="scan\n", timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(warm.proc.pid, signal.SIGKILL)
        warm.proc.communicate()
        raise CheckovError(
            f"Checkov timed out after {timeout_s:g} s ({warm.executable}); raise --timeout if the stacks are large"
        ) from None
    if warm.proc.returncode == _NOT_CHECKOV and not stdout:
        return None
    return subprocess.CompletedProcess(command, warm.proc.returncode, stdout, stderr)


def _run(
    command: list[str], cwd: Path, env: dict[str, str], timeout_s: float, executable: Path
) -> subprocess.CompletedProcess[str]:
    """Run Checkov in its own process group, so a timeout ends it and every process it started."""
    try:
        proc = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
    except OSError as exc:
        raise CheckovError(f"Checkov could not start ({executable}): {exc.strerror or exc}") from None
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise CheckovError(
            f"Checkov timed out after {timeout_s:g} s ({executable}); raise --timeout if the stacks are large"
        ) from None
    except BaseException:
        # interrupted (SIGTERM / SIGINT turned into an exception by the CLI): end Checkov and its children too
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _parse_output(proc: subprocess.CompletedProcess[str], executable: Path) -> list[dict[str, Any]]:
    errors = [m.group(1).strip() for m in _CHECK_ERROR.finditer(proc.stderr)]
    if not errors and "Traceback (most recent call last)" in proc.stderr:
        errors = [_tail(proc.stderr, 5)]
    if proc.returncode != 0:
        raise CheckovError(
            f"Checkov crashed (exit {proc.returncode}, {executable}):\n"
            + (_tail(proc.stderr or proc.stdout) or "(no output)")
        )
    if errors:
        raise CheckovError(
            "Checkov logged errors, so some checks did not run (a custom check that raises loses its result):\n  "
            + "\n  ".join(dict.fromkeys(errors))
        )
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise CheckovError(
            f"Checkov printed something that is not its JSON report ({executable}):\n"
            + (_tail(proc.stdout) or "(nothing)")
        ) from None
    reports = doc if isinstance(doc, list) else [doc]
    if not all(isinstance(r, dict) for r in reports):
        raise CheckovError("Checkov's JSON report has an unexpected shape (expected report objects)")
    reports = [r for r in reports if "check_type" in r]
    for report in reports:
        parsing_errors = report.get("results", {}).get("parsing_errors") or []
        if parsing_errors:
            raise CheckovError(
                f"Checkov could not parse {', '.join(map(str, parsing_errors))} ({report['check_type']})"
            )
    return reports


def _origin_for(
    key: tuple[str, str], framework: str, sent: dict[tuple[str, str], tuple[str, str, Origin]]
) -> tuple[str, str, Origin] | None:
    if key in sent:
        return sent[key]
    if framework == "kubernetes":
        # Checkov also reports the pod template of a workload (``Pod.<ns>.<name>.app-<name>``): same file, owner's name.
        path, resource_id = key
        rest = resource_id.split(".", 1)[-1]
        owners = [
            (len(rid), v)
            for (p, rid), v in sent.items()
            if p == path and (rest + ".").startswith(rid.split(".", 1)[-1] + ".")
        ]
        if owners:
            return max(owners, key=lambda pair: pair[0])[1]
    return None


def _trace(reports: list[dict[str, Any]], sent: dict[tuple[str, str], tuple[str, str, Origin]]) -> list[CheckResult]:
    results: list[CheckResult] = []
    for report in reports:
        framework = report["check_type"]
        for bucket in ("passed_checks", "failed_checks", "skipped_checks"):
            for record in report.get("results", {}).get(bucket, []):
                key = (record.get("file_path", ""), record.get("resource", ""))
                found = _origin_for(key, framework, sent)
                if found is None:
                    raise CheckovError(
                        f"Checkov reported {record.get('check_id')} on {key[1]} in {key[0]}, "
                        "which no Pulumi resource was "
                        "translated to: findings must trace back to a resource, so the gate stops"
                    )
                _, rel, origin = found
                check_class = record.get("check_class") or ""
                guideline = record.get("guideline") or (
                    _SOURCE_LINK.format(path=check_class.replace(".", "/"))
                    if check_class.startswith("checkov.") and ".checks." in check_class
                    else None
                )
                results.append(
                    CheckResult(
                        check_id=record["check_id"],
                        check_name=record.get("check_name") or record["check_id"],
                        result=(record.get("check_result") or {}).get("result", bucket.split("_")[0].upper()),
                        framework=framework,
                        file=rel,
                        resource_id=key[1],
                        origin=origin,
                        scanned_path=key[0],
                        guideline=guideline,
                        evaluated_keys=tuple((record.get("check_result") or {}).get("evaluated_keys") or ()),
                    )
                )
    return results


def _check_complete(
    reports: list[dict[str, Any]],
    results: list[CheckResult],
    sent: dict[tuple[str, str], tuple[str, str, Origin]],
    declared: dict[str, CustomCheck],
) -> None:
    """Results must cover what was sent: every framework, every resource of a type checks exist for, and the custom
    checks."""
    by_framework: dict[str, int] = {}
    for path, _ in sent:
        fw = framework_of(path.split("/", 2)[2]) or ""
        by_framework[fw] = by_framework.get(fw, 0) + 1
    counted = {r["check_type"]: int(r.get("summary", {}).get("resource_count", 0)) for r in reports}
    for fw, count in by_framework.items():
        if counted.get(fw, 0) < count:
            raise CheckovError(
                f"Checkov returned results for fewer resources than were sent ({fw}: {counted.get(fw, 0)} of {count}); "
                "some translated files were not scanned"
            )
    seen = {(r.scanned_path, r.resource_id) for r in results}
    checked_types = {(r.framework, entity_type(r.framework, r.resource_id)) for r in results}
    missing = []
    for path, rid in sent:
        fw = framework_of(path.split("/", 2)[2]) or ""
        if (path, rid) not in seen and (fw, entity_type(fw, rid)) in checked_types:
            missing.append((path, rid))
    if missing:
        shown = "\n  ".join(f"{rid} in {path}" for path, rid in missing[:20])
        more = f"\n  ... and {len(missing) - 20} more" if len(missing) > 20 else ""
        raise CheckovError(
            f"Checkov returned results for fewer resources than were sent; no result for:\n  {shown}{more}"
        )
    if (
        declared
        and _custom_applicable(declared, sent)
        and not any(r.check_id.startswith(CUSTOM_PREFIX) for r in results)
    ):
        raise CheckovError(
            f"none of the custom checks ({', '.join(sorted(declared))}) produced a result "
            "although resources they apply "
            "to were sent: Checkov did not load them"
        )
    produced = {r.check_id for r in results}
    silent = sorted(
        f"{c.id} ({c.path})"
        for c in declared.values()
        if c.id not in produced and not c.may_abstain and _custom_applicable({c.id: c}, sent, strict=True)
    )
    if silent:
        raise CheckovError(
            "custom checks produced no result although resources they apply to were sent (not loaded: a "
            "sub-folder without __init__.py, an import error, or a check that raised):\n  " + "\n  ".join(silent)
        )


def _custom_applicable(
    declared: dict[str, CustomCheck], sent: dict[tuple[str, str], tuple[str, str, Origin]], *, strict: bool = False
) -> bool:
    """Whether any sent resource is one a custom check applies to (any at all, for checks whose types are not
    literal). ``strict``: only checks whose framework is known, so one check can be held to its own result."""
    for path, rid in sent:
        fw = framework_of(path.split("/", 2)[2]) or ""
        kind = entity_type(fw, rid)
        for check in declared.values():
            if check.framework not in (None, fw) or (strict and check.framework is None):
                continue
            if not check.resources or any(fnmatch.fnmatchcase(kind, p) for p in check.resources):
                return True
    return False

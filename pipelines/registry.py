"""The local model registry: immutable model versions (artifact + sha256 + lineage) and who serves what.

A directory (``.local-run/registry`` by default) holding ``index.json`` (written atomically under a lock) and one
read-only copy of each registered artifact under ``models/<name>/<version>/``. Per model name it tracks the stable
version, an optional candidate (canary or blue-green) with its traffic share, and an append-only event history, so
every rollback names the version it restored. Standard library only: the deploy step carries it to the cluster.

A rollout is a lease: :meth:`LocalRegistry.start_rollout` records its owner (pid, host, run id, start time) and only
that owner may promote or withdraw the candidate. A second rollout of the same model waits (bounded) for the first to
finish, then is refused with a message naming the owner. A rollout whose owner is gone (its pid ended, e.g. SIGKILL)
or whose lease expired is withdrawn, with an ``interrupted: ...`` history entry, by the next start_rollout, deploy or
server start (:meth:`LocalRegistry.recover_interrupted`).

Every registry action (register, rollout, promote, rollback) records its actor (:func:`current_actor`): who did it,
and whether an identity provider or the cluster authenticated that name.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import fcntl
import getpass
import hashlib
import json
import os
import re
import shutil
import socket
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pipelines.paths import LOCAL_RUN

DEFAULT_ROOT = LOCAL_RUN / "registry"
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
LEASE_SECONDS = 3600.0
"""A rollout not finished within this long is treated as interrupted (the only signal for an owner on another host)."""
WAIT_POLL_SECONDS = 0.5
ACTOR_ENV = "MLOPS_ACTOR"
"""Set by ``mlops pipeline run --oidc-token-file`` to the subject of the caller's OIDC token."""
SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


class RegistryError(Exception):
    """A registry operation was refused; the message says why."""


class VersionConflict(RegistryError):
    """A version already exists with different bytes: versions are immutable."""


class RolloutInProgress(RegistryError):
    """Another live process owns the model's rollout; the message names it."""


class AlreadyStable(RegistryError):
    """The version asked to roll out already serves all traffic."""


def rollout_owner(run_id: str = "", lease_seconds: float = LEASE_SECONDS) -> dict:
    """This process as a rollout's owner: what lets another process tell whether the rollout is still live."""
    now = time.time()
    return {
        "pid": os.getpid(),
        "pid_started": _process_start(os.getpid()),
        "host": socket.gethostname(),
        "run_id": run_id,
        "started_at": _now(),
        "started": now,
        "expires": now + lease_seconds,
    }


def _process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux), so a reused pid is not mistaken for the owner."""
    try:
        stat_fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if stat_fields[0] in ("Z", "X") else stat_fields[19]


def _owner_gone(owner: dict | None, now: float) -> str | None:
    """Why a rollout's owner can no longer finish it, or None while it may still."""
    if not owner:
        return None
    if now > owner.get("expires", 0):
        return (
            f"lease of run {owner.get('run_id') or '?'} (pid {owner.get('pid')}) expired; "
            f"started {owner.get('started_at')}"
        )
    if owner.get("host") != socket.gethostname():
        return None  # cannot see the process: the lease's expiry decides
    started = _process_start(owner["pid"])
    if started is None and Path("/proc/self/stat").exists():
        return f"owner pid {owner['pid']} gone"
    if started is not None and owner.get("pid_started") not in (None, started):
        return f"owner pid {owner['pid']} gone (the pid now belongs to another process)"
    if started is None:  # no /proc: ask the kernel whether the pid exists
        try:
            os.kill(owner["pid"], 0)
        except ProcessLookupError:
            return f"owner pid {owner['pid']} gone"
        except PermissionError:
            pass
    return None


def token_subject(token: str) -> str:
    """The ``sub`` claim of a JWT (the token itself is never recorded). The signature is not checked here: the token
    is the one the kubelet mounted for this pod (or the one the API server just accepted from the caller)."""
    try:
        payload = token.strip().split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as exc:
        raise RegistryError(f"the identity token is not a JWT ({type(exc).__name__}); cannot name the actor") from None
    subject = claims.get("sub") if isinstance(claims, dict) else None
    if not isinstance(subject, str) or not subject:
        raise RegistryError("the identity token has no 'sub' claim; cannot name the actor")
    return subject


def current_actor(token_file: Path | str = SERVICE_ACCOUNT_TOKEN) -> dict:
    """Who acts: the pod's ServiceAccount (the subject of the token the kubelet mounted, e.g.
    ``system:serviceaccount:kubeflow:pipeline-runner``: authenticated by the cluster), else ``$MLOPS_ACTOR`` (the
    subject of the OIDC token the CLI was given; its signature is not verified on this machine, so it is recorded as
    not authenticated), else the local OS user (not authenticated)."""
    token = Path(token_file)
    if token.is_file():
        return {"subject": token_subject(token.read_text()), "authenticated": True, "source": "kubernetes"}
    named = os.environ.get(ACTOR_ENV, "").strip()
    if named:
        return {"subject": named, "authenticated": False, "source": "oidc-token"}
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid {os.getuid()}"
    return {"subject": f"{user}@{socket.gethostname()}", "authenticated": False, "source": "os-user"}


def _describe(name: str, serving: dict) -> str:
    owner = serving.get("owner") or {}
    return (
        f"rollout of {name} {serving['candidate']} by run {owner.get('run_id') or '?'} (pid {owner.get('pid')} on "
        f"{owner.get('host')}) is in progress since {owner.get('started_at')}"
    )


def artifact_sha256(path: Path | str) -> str:
    """sha256 of a file, or of a directory as (relative path, bytes) of every file in path order."""
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_file():
        digest.update(path.read_bytes())
        return digest.hexdigest()
    if not path.is_dir():
        raise RegistryError(f"model artifact {path} does not exist")
    files = sorted(p for p in path.rglob("*") if p.is_file())
    if not files:
        raise RegistryError(f"model artifact {path} is an empty directory")
    for file in files:
        digest.update(file.relative_to(path).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    sha256: str
    artifact: Path
    registered_at: str
    lineage: dict


@dataclass(frozen=True)
class ServingState:
    """What the server routes: all traffic to ``stable`` except ``candidate_percent`` to ``candidate``."""

    name: str
    stable: str | None
    candidate: str | None
    candidate_percent: int
    strategy: str | None

    @property
    def weights(self) -> dict[str, int]:
        out = {}
        if self.stable:
            out[self.stable] = 100 - (self.candidate_percent if self.candidate else 0)
        if self.candidate:
            out[self.candidate] = self.candidate_percent if self.stable else 100
        return out


class LocalRegistry:
    def __init__(self, root: Path | str = DEFAULT_ROOT):
        self.root = Path(root).resolve()
        self.index_path = self.root / "index.json"

    # --- storage ------------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self):
        """Exclusive lock across processes (the server reads while a deploy writes)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def load(self) -> dict:
        if not self.index_path.exists():
            return {"models": {}}
        try:
            return json.loads(self.index_path.read_text())
        except json.JSONDecodeError as exc:
            raise RegistryError(f"{self.index_path} is corrupt ({exc}); restore it from backup") from None

    def _save(self, index: dict) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(index, fh, indent=2, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.index_path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @contextlib.contextmanager
    def _edit(self):
        with self._locked():
            index = self.load()
            yield index
            self._save(index)

    def mtime(self) -> float:
        return self.index_path.stat().st_mtime_ns if self.index_path.exists() else 0

    # --- versions -----------------------------------------------------------------------------------------------
    def register(
        self,
        name: str,
        artifact: Path | str,
        version: str | None = None,
        lineage: dict | None = None,
        extra_files: dict[str, Path | str] | None = None,
    ) -> ModelVersion:
        """Store a copy of ``artifact`` as ``name``/``version`` (``v<N>`` when not given).

        Registering the same bytes again returns the existing version (re-runs are safe); the same version with
        different bytes raises :class:`VersionConflict`. The version is chosen under the index lock, so concurrent
        registrations never collide, and the stored lineage names it. ``extra_files`` (e.g. the reference profile)
        are stored next to the model but are not part of its sha256.
        """
        if not _NAME.match(name):
            raise RegistryError(f"model name {name!r}: use lowercase letters, digits and '-' (at most 63)")
        sha = artifact_sha256(artifact)
        actor = current_actor()
        with self._edit() as index:
            model = index["models"].setdefault(name, _new_model())
            same_bytes = [v for v, rec in model["versions"].items() if rec["sha256"] == sha]
            if version is None:
                if same_bytes:
                    return self._version(name, same_bytes[0], model)
                version = f"v{len(model['versions']) + 1}"
            if not _VERSION.match(version):
                raise RegistryError(f"model version {version!r}: letters, digits, '.', '_', '-' (at most 63)")
            existing = model["versions"].get(version)
            if existing is not None:
                if existing["sha256"] != sha:
                    raise VersionConflict(
                        f"{name} {version} is already registered with sha256 {existing['sha256']}; "
                        f"versions are immutable (this artifact has sha256 {sha})"
                    )
                return self._version(name, version, model)
            target = self.root / "models" / name / version
            if target.exists():  # left over from an interrupted registration: not in the index, so not trusted
                _make_writable(target)
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{version}-"))
            model_dir = staging / "model"
            if Path(artifact).is_dir():
                shutil.copytree(artifact, model_dir)
            else:
                model_dir.mkdir()
                shutil.copy2(artifact, model_dir / Path(artifact).name)
            for file_name, source in (extra_files or {}).items():
                shutil.copy2(source, staging / file_name)
            if artifact_sha256(model_dir) != sha and Path(artifact).is_dir():
                raise RegistryError(f"{artifact} changed while it was being registered")
            _make_read_only(staging)
            staging.rename(target)
            model["versions"][version] = {
                "sha256": sha,
                "artifact": str(target / "model"),
                "registered_at": _now(),
                "registered_by": actor,
                "lineage": {**(lineage or {}), "version": version},
                "files": sorted(extra_files or {}),
                "deployments": [],
            }
            model["history"].append(
                {"at": _now(), "action": "register", "version": version, "sha256": sha, "actor": actor}
            )
            return self._version(name, version, model)

    def _version(self, name: str, version: str, model: dict) -> ModelVersion:
        rec = model["versions"][version]
        lineage = {
            **rec["lineage"],
            "registered_at": rec["registered_at"],
            "stored_at": rec["artifact"],
            "registered_by": rec.get("registered_by"),
            "deployments": list(rec.get("deployments", [])),
            "registry_actions": [
                e for e in model["history"] if version in (e.get("version"), e.get("restored"), e.get("replaced"))
            ],
        }
        return ModelVersion(name, version, rec["sha256"], Path(rec["artifact"]), rec["registered_at"], lineage)

    def get(self, name: str, version: str) -> ModelVersion:
        model = self._model(self.load(), name)
        if version not in model["versions"]:
            known = ", ".join(model["versions"]) or "none"
            raise RegistryError(f"{name} has no version {version!r}; registered: {known}")
        return self._version(name, version, model)

    def file(self, name: str, version: str, file_name: str) -> Path:
        """A file stored next to a version's model (see ``extra_files``)."""
        return self.get(name, version).artifact.parent / file_name

    def verify(self, name: str, version: str) -> ModelVersion:
        """The version, after checking its stored bytes still hash to the registered sha256."""
        mv = self.get(name, version)
        actual = artifact_sha256(mv.artifact)
        if actual != mv.sha256:
            raise RegistryError(f"{name} {version}: stored artifact hashes to {actual}, registered {mv.sha256}")
        return mv

    def models(self) -> list[str]:
        return sorted(self.load()["models"])

    def versions(self, name: str) -> list[ModelVersion]:
        model = self._model(self.load(), name)
        return [self._version(name, v, model) for v in model["versions"]]

    def find(self, version: str, name: str | None = None) -> ModelVersion:
        """A version by its name alone (``name`` disambiguates when several models share it)."""
        index = self.load()
        names = [name] if name else sorted(index["models"])
        hits = [n for n in names if version in index["models"].get(n, {}).get("versions", {})]
        if not hits:
            known = {n: list(m["versions"]) for n, m in index["models"].items()}
            raise RegistryError(f"no model version {version!r} in {self.root} (registered: {known or 'none'})")
        if len(hits) > 1:
            raise RegistryError(f"version {version!r} exists for models {hits}: name one with --model")
        return self._version(hits[0], version, index["models"][hits[0]])

    def record_deployment(self, name: str, version: str, outcome: dict) -> None:
        """Append a deployment outcome to the version's lineage (append-only; the artifact stays untouched)."""
        with self._edit() as index:
            model = self._model(index, name)
            if version not in model["versions"]:
                raise RegistryError(f"{name} has no version {version!r}")
            model["versions"][version].setdefault("deployments", []).append({"at": _now(), **outcome})

    # --- serving state --------------------------------------------------------------------------------------------
    def state(self, name: str, index: dict | None = None) -> ServingState:
        model = self._model(index or self.load(), name)
        s = model["serving"]
        return ServingState(name, s["stable"], s["candidate"], s["candidate_percent"], s["strategy"])

    def history(self, name: str) -> list[dict]:
        return copy.deepcopy(self._model(self.load(), name)["history"])

    def start_rollout(
        self, name: str, version: str, strategy: str, percent: int, owner: dict | None = None, wait_seconds: float = 0.0
    ) -> ServingState:
        """Make ``version`` the candidate: ``percent`` of live traffic (canary) or 0% until the switch (blue-green).

        With no stable version yet, the candidate takes all traffic (there is nothing to split against). ``owner``
        (default: this process) holds the rollout until it promotes or withdraws. While another live owner holds one,
        wait up to ``wait_seconds`` for it to finish, then raise :class:`RolloutInProgress`; a gone owner's rollout is
        withdrawn first, and a candidate with no owner recorded (written before leases) is superseded.
        """
        if strategy not in ("canary", "blue-green"):
            raise RegistryError(f"strategy must be 'canary' or 'blue-green', got {strategy!r}")
        if not 0 <= percent <= 100:
            raise RegistryError(f"canary traffic percent must be within 0..100, got {percent}")
        owner = owner or rollout_owner()
        deadline = time.monotonic() + wait_seconds
        while True:
            with self._edit() as index:
                model = self._model(index, name)
                if version not in model["versions"]:
                    raise RegistryError(f"{name} has no version {version!r}")
                self._recover(model, time.time())
                serving = model["serving"]
                busy = serving["candidate"] and serving.get("owner")
                if not busy:
                    if serving["candidate"]:
                        self._withdraw(model, f"superseded by {version}")
                    if serving["stable"] == version:
                        raise AlreadyStable(f"{name} {version} is already the stable version")
                    share = percent if strategy == "canary" else 0
                    serving.update(candidate=version, candidate_percent=share, strategy=strategy, owner=owner)
                    model["history"].append(
                        {
                            "at": _now(),
                            "action": "rollout",
                            "version": version,
                            "strategy": strategy,
                            "percent": share,
                            "stable": serving["stable"],
                            "run_id": owner.get("run_id"),
                            "pid": owner.get("pid"),
                            "actor": current_actor(),
                        }
                    )
                    return self.state(name, index)
                waiting = _describe(name, serving)
            if time.monotonic() >= deadline:
                raise RolloutInProgress(
                    f"{waiting}; refused the rollout of {version}"
                    + (f" after waiting {wait_seconds:.0f} s" if wait_seconds else "")
                    + ". Wait for it to finish and deploy again; a rollout whose process has ended is withdrawn "
                    "automatically by the next deploy or `mlops serve`"
                )
            time.sleep(min(WAIT_POLL_SECONDS, max(0.0, deadline - time.monotonic())))

    def recover_interrupted(self, name: str | None = None) -> list[dict]:
        """Withdraw every rollout whose owner is gone or whose lease expired; returns the history entries added."""
        with self._edit() as index:
            names = [name] if name else sorted(index["models"])
            return [
                event for n in names if n in index["models"] for event in self._recover(index["models"][n], time.time())
            ]

    def _recover(self, model: dict, now: float) -> list[dict]:
        serving = model["serving"]
        gone = _owner_gone(serving.get("owner"), now) if serving["candidate"] else None
        return [self._withdraw(model, f"interrupted: {gone}")] if gone else []

    @staticmethod
    def _withdraw(model: dict, reason: str) -> dict:
        """Drop the candidate (the stable version keeps serving) and record why."""
        serving = model["serving"]
        event = {
            "at": _now(),
            "action": "rollback",
            "version": serving["candidate"],
            "restored": serving["stable"],
            "reason": reason,
            "actor": current_actor(),
        }
        serving.update(candidate=None, candidate_percent=0, strategy=None, owner=None)
        model["history"].append(event)
        return event

    def _check_owned(self, name: str, model: dict, version: str, act: str) -> None:
        """Refuse to act on a candidate that is not ``version``, or that another live process owns."""
        serving = model["serving"]
        if serving["candidate"] != version:
            raise RegistryError(
                f"cannot {act} {name} {version}: the current candidate is "
                f"{serving['candidate'] or 'none'} (the rollout of {version} was withdrawn or "
                f"superseded); nothing changed"
            )
        owner = serving.get("owner")
        if owner and owner.get("pid") != os.getpid() and not _owner_gone(owner, time.time()):
            raise RegistryError(f"cannot {act} {name} {version}: the {_describe(name, serving)}, not this process")

    def promote(self, name: str, version: str) -> ServingState:
        """The candidate ``version`` becomes stable with 100% of traffic; the previous stable is named in the history.

        Refused when ``version`` is not the current candidate or another live process owns its rollout."""
        with self._edit() as index:
            model = self._model(index, name)
            self._check_owned(name, model, version, "promote")
            serving = model["serving"]
            previous, serving["stable"] = serving["stable"], version
            serving.update(candidate=None, candidate_percent=0, strategy=None, owner=None)
            model["history"].append(
                {"at": _now(), "action": "promote", "version": version, "replaced": previous, "actor": current_actor()}
            )
            return self.state(name, index)

    def rollback(self, name: str, reason: str, version: str | None = None) -> tuple[str | None, str | None]:
        """Withdraw the candidate (stable keeps serving), or, with no candidate, restore the stable version that the
        last promotion replaced. Returns ``(withdrawn, restored)``.

        With ``version``, act only on that version: its rollout when it is the candidate (owned by this process or by
        none alive), or its promotion when it is the stable version and no candidate is live; else refuse."""
        with self._edit() as index:
            model = self._model(index, name)
            serving = model["serving"]
            if version is not None and (serving["candidate"] or serving["stable"] != version):
                self._check_owned(name, model, version, "roll back")
            if serving["candidate"]:
                event = self._withdraw(model, reason)
                return event["version"], event["restored"]
            promotions = [e for e in model["history"] if e["action"] in ("promote", "rollback")]
            last = promotions[-1] if promotions else None
            if not last or last["action"] != "promote" or not last.get("replaced"):
                raise RegistryError(f"{name}: nothing to roll back (no candidate, no earlier stable version)")
            withdrawn, restored = serving["stable"], last["replaced"]
            serving["stable"] = restored
            model["history"].append(
                {
                    "at": _now(),
                    "action": "rollback",
                    "version": withdrawn,
                    "restored": restored,
                    "reason": reason,
                    "actor": current_actor(),
                }
            )
            return withdrawn, restored

    @staticmethod
    def _model(index: dict, name: str) -> dict:
        if name not in index["models"]:
            raise RegistryError(f"no model named {name!r} in the registry (known: {sorted(index['models']) or 'none'})")
        return index["models"][name]


def _new_model() -> dict:
    return {
        "versions": {},
        "history": [],
        "serving": {"stable": None, "candidate": None, "candidate_percent": 0, "strategy": None, "owner": None},
    }


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _make_read_only(root: Path) -> None:
    for path in [*root.rglob("*"), root]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _make_writable(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)

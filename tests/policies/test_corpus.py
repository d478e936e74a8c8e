"""The program corpus (``tests/policies/corpus/``): hand-written Pulumi programs the preview and the gate must handle.

Each program is previewed and gated through the real CLI in a subprocess, with a timeout, exactly as a user runs
it: ``mlops preview --program DIR --stack dev --json F`` and ``mlops gate --program DIR --stack dev --format json
--output F``. ``tests/policies/corpus/corpus.yaml`` declares, per program, the resources it registers (custom and
component resources, not the stack and not default providers), whether the preview succeeds, the gate's exit code,
how many resources the gate must hand to Checkov at least, and the issue cause it reproduces.

Never acceptable, whatever the program: a hang (the subprocess timeout), a Python traceback in the output, an
intentional-error program that exits 0, and a gate that exits 0 after scanning fewer resources than declared.

``CORPUS_TIMEOUT`` (seconds, default 150) bounds each subprocess.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROGRAMS = REPO / "tests" / "policies" / "corpus"
MANIFEST = PROGRAMS / "corpus.yaml"
TIMEOUT_S = float(os.environ.get("CORPUS_TIMEOUT", "150"))
MIN_PROGRAMS = 28
TRACEBACK = "Traceback (most recent call last)"


def load_manifest() -> list[dict[str, Any]]:
    return list(yaml.safe_load(MANIFEST.read_text())["programs"])


ENTRIES = load_manifest()
IDS = [e["name"] for e in ENTRIES]


def mlops(*args: str, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """The ``mlops`` CLI of this checkout in a fresh process group; a hang kills the group (Checkov included) and
    fails the test with what it printed so far."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", "NO_COLOR": "1"}
    # the looping program proves the preview's own time limit fires (a clear error, no hang); 20 s, not the 120 s
    # default, keeps the suite short
    env.setdefault("MLOPS_PREVIEW_TIMEOUT", "20")
    cmd = [sys.executable, "-c", "from infra.cli import main; main()", *args]
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"hang: `mlops {' '.join(args)}` still running after {timeout:g} s\n{out[-2000:]}\n{err[-2000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def declared_count(preview_json: dict[str, Any]) -> int:
    """Resources the program registered: everything but the stack itself and default providers."""
    return sum(
        1
        for r in preview_json["resources"]
        if r["type"] != "pulumi:pulumi:Stack"
        and not (r["type"].startswith("pulumi:providers:") and r["name"].startswith("default"))
    )


def test_manifest_lists_every_program() -> None:
    dirs = sorted(p.name for p in PROGRAMS.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    assert sorted(IDS) == dirs, "tests/policies/corpus/corpus.yaml and the program directories disagree"
    assert len(IDS) == len(set(IDS))
    assert len(IDS) >= MIN_PROGRAMS
    for entry in ENTRIES:
        where = PROGRAMS / entry["name"]
        for name in ("Pulumi.yaml", f"Pulumi.{entry['stack']}.yaml", "__main__.py"):
            assert (where / name).is_file(), f"{where / name} is missing"
        assert yaml.safe_load((where / "Pulumi.yaml").read_text())["runtime"] == "python"
        assert entry["preview"] in ("ok", "error"), entry
        if entry["preview"] == "ok":
            assert isinstance(entry["resources"], int) and entry["resources"] > 0, entry
            assert entry["gate"] in (0, 1) or (entry["gate"] == 2 and entry.get("error")), (
                f"{entry['name']}: a program that previews is gated to 0 or 1, or refused (2) with an error pattern"
            )
            assert all(isinstance(a, str) for a in entry.get("gate_args") or []), entry
            assert 0 <= entry["scanned"] <= entry["resources"], entry
        else:
            assert entry["gate"] == 2 and entry.get("error"), (
                f"{entry['name']}: error programs need gate 2 and an error pattern"
            )
        assert entry.get("cause"), f"{entry['name']}: name the issue cause it reproduces"
        for line in entry.get("checks") or []:
            assert len(line.split()) == 3 and line.split()[2] in ("PASSED", "FAILED"), line


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_preview(entry: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "preview.json"
    run = mlops(
        "preview",
        "--program",
        str(PROGRAMS / entry["name"]),
        "--stack",
        entry["stack"],
        "--no-tree",
        "--json",
        str(out),
    )
    text = run.stdout + run.stderr
    assert TRACEBACK not in text, f"traceback in the preview output:\n{text[-4000:]}"
    if entry["preview"] == "ok":
        assert run.returncode == 0, f"preview failed (rc {run.returncode}):\n{text[-3000:]}"
        doc = json.loads(out.read_text())
        assert declared_count(doc) == entry["resources"], f"resources: {doc.get('counts')}"
    else:
        assert run.returncode == 2, (
            f"an intentional-error program must fail clearly with rc 2, got {run.returncode}:\n{text[-3000:]}"
        )
        assert "error:" in run.stderr, run.stderr
        assert re.search(entry["error"], run.stderr, re.IGNORECASE | re.DOTALL), f"unclear error:\n{run.stderr[-2000:]}"


@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_gate(entry: dict[str, Any], tmp_path: Path) -> None:
    """One gate run (one Checkov process) per program: the CLI gates one --program per invocation."""
    report_path = tmp_path / "gate.json"
    run = mlops(
        "gate",
        "--program",
        str(PROGRAMS / entry["name"]),
        "--stack",
        entry["stack"],
        *(entry.get("gate_args") or []),
        "--format",
        "json",
        "--output",
        str(report_path),
    )
    text = run.stdout + run.stderr
    assert TRACEBACK not in text, f"traceback in the gate output:\n{text[-4000:]}"
    assert run.returncode == entry["gate"], f"gate rc {run.returncode}, expected {entry['gate']}:\n{text[-3000:]}"
    if entry["gate"] == 2:
        assert "error:" in run.stderr, run.stderr
        assert re.search(entry["error"], run.stderr, re.IGNORECASE | re.DOTALL), f"unclear error:\n{run.stderr[-2000:]}"
        return
    report = json.loads(report_path.read_text())
    assert report["exitCode"] == run.returncode
    scanned = sum(s["resourcesScanned"] for s in report["stacks"])
    assert scanned >= entry["scanned"], (
        f"the gate scanned {scanned} resources, the program declares {entry['scanned']} it must scan"
    )
    if run.returncode == 0:
        assert not report["summary"].get("FAILED"), report["summary"]
    missing = check_expectations(entry, report)
    assert not missing, "\n".join(missing)


def check_expectations(entry: dict[str, Any], report: dict[str, Any]) -> list[str]:
    """The manifest's ``checks`` lines (``CHECK_ID resource-name STATUS``) missing from a gate json report."""
    seen = {(f["checkId"], f["name"]): f["status"] for s in report["stacks"] for f in s["findings"]}
    missing = []
    for line in entry.get("checks") or []:
        check_id, name, status = line.split()
        got = seen.get((check_id, name))
        if got != status:
            missing.append(f"{check_id} on {name}: expected {status}, got {got or 'no result'}")
    return missing


def as_preview_steps(doc: dict[str, Any], stack: str) -> dict[str, Any]:
    """``mlops preview --json`` output as ``pulumi preview --json`` steps, under its own stack name, so that many
    programs can be gated in one run (``mlops gate --preview-json`` is repeatable; ``--program`` is not)."""
    text = json.dumps(doc["resources"]).replace(f"urn:pulumi:{doc['stack']}::", f"urn:pulumi:{stack}::")
    steps = []
    for r in json.loads(text):
        state = {
            "urn": r["urn"],
            "type": r["type"],
            "custom": r["custom"],
            "parent": r["parent"] or "",
            "provider": r["provider"] or "",
            "inputs": r["inputs"],
            "dependencies": r["dependencies"],
            "propertyDependencies": r["property_dependencies"],
        }
        steps.append({"op": "create", "urn": r["urn"], "newState": state})
    return {"steps": steps}


@pytest.mark.slow
def test_gate_batch(tmp_path: Path) -> None:
    """Every program that previews, gated in ONE gate run and one Checkov process (through --preview-json, each
    program under its own stack name): per program, the declared verdict and at least the declared resources
    scanned. Programs whose preview fails are left to test_preview and test_gate."""
    args: list[str] = []
    expected: dict[str, dict[str, Any]] = {}
    for entry in ENTRIES:
        if entry["preview"] != "ok" or entry["gate"] == 2:
            continue
        out = tmp_path / f"{entry['name']}.mlops.json"
        try:
            run = mlops(
                "preview",
                "--program",
                str(PROGRAMS / entry["name"]),
                "--stack",
                entry["stack"],
                "--no-tree",
                "--json",
                str(out),
                timeout=min(TIMEOUT_S, 60),
            )
        except pytest.fail.Exception:
            continue  # a hang: test_preview reports it
        if run.returncode != 0 or not out.is_file():
            continue
        steps = tmp_path / f"{entry['name']}.steps.json"
        steps.write_text(json.dumps(as_preview_steps(json.loads(out.read_text()), entry["name"])))
        args += ["--preview-json", str(steps), *(entry.get("gate_args") or [])]
        expected[entry["name"]] = entry
    if not expected:
        pytest.fail("no program of the corpus previews")
    report_path = tmp_path / "gate.json"
    run = mlops("gate", *args, "--format", "json", "--output", str(report_path))
    text = run.stdout + run.stderr
    assert TRACEBACK not in text, text[-4000:]
    assert run.returncode in (0, 1), f"gate rc {run.returncode}:\n{text[-3000:]}"
    report = json.loads(report_path.read_text())
    stacks = {s["stack"]: s for s in report["stacks"]}
    wrong = []
    for name, entry in expected.items():
        stack = stacks.get(name)
        if stack is None:
            wrong.append(f"{name}: missing from the report")
            continue
        verdict = 1 if any(f["status"] == "FAILED" for f in stack["findings"]) else 0
        if verdict != entry["gate"]:
            wrong.append(f"{name}: verdict {verdict}, declared {entry['gate']}")
        if stack["resourcesScanned"] < entry["scanned"]:
            wrong.append(f"{name}: scanned {stack['resourcesScanned']}, declared at least {entry['scanned']}")
    assert not wrong, "\n".join(wrong)

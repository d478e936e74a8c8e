"""Preview and gate every program of the corpus (``tests/policies/corpus/``) through the CLI; report how many work.

    PYTHONPATH=. .venv/bin/python benchmarks/corpus.py [--timeout 150] [--only NAME ...] [--no-gate] [--json out.json]

Per program: preview ok/fail, resources (declared in its ``corpus.yaml`` vs. found), preview time, gate
exit code (expected), gate time, and the first line of the error for anything that did not go as declared. Then the
pass rate: the share of programs that preview and gate without an error or a hang, the intentional-error programs
(``preview: error`` in the manifest) and the programs the gate refuses by design (``gate: 2``: an unrendered remote
chart, nothing scannable, a data-plane resource with no ARM type) counting as passed when they give the expected
clear error (exit 2, an ``error:`` line matching the manifest's pattern, no traceback, no hang); and the median and
maximum times.
Each command runs in its own process with the timeout (a hang counts as a failure, ``rc`` 124).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
PROGRAMS = REPO / "tests" / "policies" / "corpus"
MANIFEST = PROGRAMS / "corpus.yaml"
TRACEBACK = "Traceback (most recent call last)"
HANG = 124


@dataclass
class Outcome:
    name: str
    expected_preview: str
    expected_resources: int | None
    expected_gate: int
    cause: str
    preview_rc: int = -1
    preview_s: float = 0.0
    resources: int | None = None
    gate_rc: int | None = None
    gate_s: float = 0.0
    scanned: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Previewed and gated without an error or a hang (intentional errors: the expected clear error)."""
        return not any(p.startswith(("preview", "gate")) for p in self.problems)

    @property
    def as_declared(self) -> bool:
        """Passed, and the resource count and gate exit code are the ones the manifest declares."""
        return not self.problems


def run_cli(args: list[str], timeout: float) -> tuple[int, str, str, float]:
    """``mlops ARGS`` in a fresh process group; on timeout the whole group (Checkov included) is killed: rc 124."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", "NO_COLOR": "1"}
    cmd = [sys.executable, "-c", "from infra.cli import main; main()", *args]
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err, time.perf_counter() - started
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return HANG, out, err, time.perf_counter() - started


def first_error(stdout: str, stderr: str) -> str:
    text = stderr + stdout
    if TRACEBACK in text:
        lines = [line for line in text.splitlines() if line.strip()]
        return "traceback: " + (lines[-1].strip() if lines else "")
    for line in text.splitlines():
        if "error" in line.lower():
            joined = " ".join(text[text.index(line) :].split())
            return joined[:300]
    return " ".join(text.split())[-300:]


def declared_count(doc: dict[str, Any]) -> int:
    return sum(
        1
        for r in doc["resources"]
        if r["type"] != "pulumi:pulumi:Stack"
        and not (r["type"].startswith("pulumi:providers:") and r["name"].startswith("default"))
    )


def judge_error(what: str, rc: int, out: str, err: str, pattern: str, o: Outcome) -> None:
    """An intentional-error program: exit 2 with a clear ``error:`` line matching the manifest's pattern."""
    if rc == HANG:
        o.problems.append(f"{what}: hang (no answer within the timeout)")
    elif TRACEBACK in out + err:
        o.problems.append(f"{what}: traceback: {first_error(out, err)}")
    elif rc != 2:
        o.problems.append(f"{what}: rc {rc}, expected the clear error (rc 2)")
    elif "error:" not in err or not re.search(pattern, err, re.IGNORECASE | re.DOTALL):
        o.problems.append(f"{what}: rc 2 but the message is not the expected one: {first_error(out, err)}")


def run_one(entry: dict[str, Any], timeout: float, gate: bool, work: Path) -> Outcome:
    name = entry["name"]
    o = Outcome(name, entry["preview"], entry.get("resources"), entry["gate"], str(entry.get("cause", "")))
    program = str(PROGRAMS / name)
    out_json = work / f"{name}.preview.json"
    rc, out, err, o.preview_s = run_cli(
        ["preview", "--program", program, "--stack", entry["stack"], "--no-tree", "--json", str(out_json)], timeout
    )
    o.preview_rc = rc
    if entry["preview"] == "ok":
        if rc == HANG:
            o.problems.append("preview: hang (no answer within the timeout)")
        elif rc != 0 or TRACEBACK in out + err:
            o.problems.append(f"preview: rc {rc}: {first_error(out, err)}")
        else:
            try:
                o.resources = declared_count(json.loads(out_json.read_text()))
            except (OSError, ValueError, KeyError) as exc:
                o.problems.append(f"preview: rc 0 but --json unreadable: {exc}")
            if o.resources is not None and o.resources != entry["resources"]:
                o.problems.append(f"count: {o.resources} resources, declared {entry['resources']}")
    else:
        judge_error("preview", rc, out, err, entry["error"], o)
    if not gate:
        return o
    report = work / f"{name}.gate.json"
    rc, out, err, o.gate_s = run_cli(
        [
            "gate",
            "--program",
            program,
            "--stack",
            entry["stack"],
            *(entry.get("gate_args") or []),
            "--format",
            "json",
            "--output",
            str(report),
        ],
        timeout,
    )
    o.gate_rc = rc
    if entry["preview"] == "ok" and entry["gate"] != 2:
        if rc == HANG:
            o.problems.append("gate: hang (no answer within the timeout)")
        elif rc not in (0, 1) or TRACEBACK in out + err:
            o.problems.append(f"gate: rc {rc}: {first_error(out, err)}")
        else:
            try:
                o.scanned = sum(s["resourcesScanned"] for s in json.loads(report.read_text())["stacks"])
            except (OSError, ValueError, KeyError) as exc:
                o.problems.append(f"gate: rc {rc} but the json report is unreadable: {exc}")
            if o.scanned is not None and o.scanned < int(entry.get("scanned", 0)):
                o.problems.append(f"gate: rc {rc} after scanning {o.scanned} resources, {entry['scanned']} declared")
            elif rc != entry["gate"]:
                o.problems.append(f"verdict: gate rc {rc}, declared {entry['gate']}")
            if entry.get("checks") and report.is_file():
                seen = {
                    (f["checkId"], f["name"]): f["status"]
                    for s in json.loads(report.read_text())["stacks"]
                    for f in s["findings"]
                }
                for line in entry["checks"]:
                    check_id, res, status = line.split()
                    if seen.get((check_id, res)) != status:
                        o.problems.append(
                            f"checks: {check_id} on {res} {seen.get((check_id, res)) or 'no result'}, declared {status}"
                        )
    else:  # an intentional error, or a program the gate refuses by design (fail closed): the clear error
        judge_error("gate", rc, out, err, entry["error"], o)
    return o


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=150.0, help="seconds per command before it counts as a hang")
    parser.add_argument("--only", nargs="*", default=None, help="program names to run (default: all)")
    parser.add_argument("--no-gate", action="store_true", help="preview only")
    parser.add_argument("--json", type=Path, default=None, help="write every outcome here")
    args = parser.parse_args(argv)

    entries = yaml.safe_load(MANIFEST.read_text())["programs"]
    if args.only:
        unknown = set(args.only) - {e["name"] for e in entries}
        if unknown:
            parser.error(f"not in the corpus: {', '.join(sorted(unknown))}")
        entries = [e for e in entries if e["name"] in args.only]

    outcomes: list[Outcome] = []
    header = f"{'program':34} {'preview':8} {'res':>7} {'prev s':>7} {'gate':>6} {'gate s':>7}  problem"
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="corpus-") as tmp:
        for entry in entries:
            o = run_one(entry, args.timeout, not args.no_gate, Path(tmp))
            outcomes.append(o)
            state = "hang" if o.preview_rc == HANG else ("ok" if o.preview_rc == 0 else f"fail{o.preview_rc}")
            res = f"{o.resources if o.resources is not None else '-'}/{o.expected_resources if o.expected_resources is not None else '-'}"
            gate = "-" if o.gate_rc is None else ("hang" if o.gate_rc == HANG else f"{o.gate_rc}/{o.expected_gate}")
            print(
                f"{o.name:34} {state:8} {res:>7} {o.preview_s:7.1f} {gate:>6} {o.gate_s:7.1f}  {'; '.join(o.problems)}",
                flush=True,
            )

    n = len(outcomes)
    passed = sum(o.passed for o in outcomes)
    declared = sum(o.as_declared for o in outcomes)
    preview_times = [o.preview_s for o in outcomes]
    gate_times = [o.gate_s for o in outcomes if o.gate_rc is not None]
    print()
    print(
        f"pass rate: {passed}/{n} = {passed / n:.0%} (preview and gate without error or hang; intentional errors clear)"
    )
    print(f"as declared: {declared}/{n} = {declared / n:.0%} (also the manifest's resource count and gate verdict)")
    print(f"preview time: median {statistics.median(preview_times):.1f} s, max {max(preview_times):.1f} s")
    if gate_times:
        print(f"gate time:    median {statistics.median(gate_times):.1f} s, max {max(gate_times):.1f} s")
    failed = [o for o in outcomes if not o.passed]
    if failed:
        print("\nfailed: " + ", ".join(o.name for o in failed))
    if args.json is not None:
        args.json.write_text(json.dumps([{**asdict(o), "passed": o.passed} for o in outcomes], indent=2) + "\n")
    return 0 if passed == n else 1


if __name__ == "__main__":
    sys.exit(main())

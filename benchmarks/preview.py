"""Offline preview wall time per stack (target: under 3 s for the largest stack on 2 cores).

Each stack runs in a fresh interpreter, as `mlops preview --stack NAME` would, so interpreter start-up,
provider-SDK imports and interpreter exit all count. Wall time depends on what else the machine runs, so the
load average is printed before and after, and the child's CPU time (user + sys) next to the wall time.
Usage: python benchmarks/preview.py [--repeat N] [--stack NAME ...]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = """
import time
t0 = time.perf_counter()
from policies.preview.runner import preview_stack
t1 = time.perf_counter()
result = preview_stack({stack!r})
t2 = time.perf_counter()
print(len(result.resources), len(result.unknown_inputs), t1 - t0, t2 - t1)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per stack; the median is printed")
    parser.add_argument("--stack", action="append", help="only this stack (repeatable); default: every stack")
    args = parser.parse_args()
    from policies.preview.runner import project_stacks

    print(f"load average before: {_load()}")
    print(f"{'stack':<18} {'resources':>9} {'wall s':>7} {'cpu s':>6} {'import s':>8} {'program s':>9} {'unknown':>7}")
    worst = 0.0
    for stack in args.stack or project_stacks():
        walls, cpus, rows = [], [], []
        for _ in range(args.repeat):
            cpu_before = _children_cpu()
            start = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", CHILD.format(stack=stack)], cwd=ROOT, capture_output=True, text=True, check=False
            )
            walls.append(time.perf_counter() - start)
            cpus.append(_children_cpu() - cpu_before)
            if proc.returncode != 0:
                print(f"{stack}: preview failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
                return 1
            rows.append(proc.stdout.split())
        count, unknown, imp, prog = rows[-1]
        wall = statistics.median(walls)
        worst = max(worst, wall)
        print(
            f"{stack:<18} {count:>9} {wall:>7.2f} {statistics.median(cpus):>6.2f} {float(imp):>8.2f} {float(prog):>9.2f} {unknown:>7}"
        )
    print(f"load average after: {_load()}")
    print(f"largest wall time: {worst:.2f} s (target < 3 s): {'OK' if worst < 3 else 'OVER TARGET'}")
    return 0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" ({os.cpu_count()} cores)"


if __name__ == "__main__":
    sys.exit(main())

"""Serving latency and throughput of ``mlops serve``: p50/p99 (ms) and requests/s at 1, 16 and 64 concurrent clients.

Trains a small model on the synthetic credit-risk data in a temporary directory, registers and promotes it in a local
registry, starts ``mlops serve`` as its own process (so the clients do not share its interpreter) and sends
single-applicant Open Inference Protocol requests from client threads, each on its own keep-alive connection
(``http.client``). A reset, a timeout or any status other than 200 counts as a failure.

    python benchmarks/serving.py                          # 1, 16 and 64 clients, 2000 requests per level
    python benchmarks/serving.py --clients 16 --requests 4000
    python benchmarks/serving.py --repo /path/to/checkout  # serve with another checkout's code (before/after)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]
MODEL = "credit-risk"


def train_and_register(root: Path, rows: int = 4000) -> list[dict]:
    """A small trained model, deployed as the stable version under ``root``; returns request rows (held-out split)."""
    from pipelines.features.generate import generate, reference_join
    from pipelines.features.schema import ENTITY_KEY, LABEL, TIMESTAMP, service_fields
    from pipelines.ml.data import split_of
    from pipelines.registry import LocalRegistry
    from pipelines.steps.train import train_trial

    tables = generate(rows, seed=3)
    apps = tables.pop("loan_applications")
    frame = reference_join(apps, tables).dropna()
    dataset = root / "dataset.parquet"
    frame.to_parquet(dataset)
    train_trial(str(dataset), {"max_epochs": 3, "hidden": 32, "batch_size": 256}, str(root / "model"), None, "cpu")
    registry = LocalRegistry(root / "registry")
    version = registry.register(MODEL, root / "model").version
    registry.start_rollout(MODEL, version, "canary", 10)
    registry.promote(MODEL)
    held_out = frame[split_of(frame) == "test"]
    columns = [f.name for f in service_fields()]
    assert ENTITY_KEY not in columns and LABEL not in columns and TIMESTAMP not in columns
    return [
        {c: (v.item() if hasattr(v, "item") else v) for c, v in row.items()}
        for row in held_out[columns].head(256).to_dict("records")
    ]


def start_server(root: Path, repo: Path) -> tuple[subprocess.Popen, str]:
    """``mlops serve`` from ``repo`` on a free port; returns the process and its base URL once it is ready."""
    env = {**os.environ, "PYTHONPATH": str(repo), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "serve", "--root", str(root), "--port", "0"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    first = proc.stdout.readline()
    match = re.search(r"serving (http://\S+)/v2", first)
    if not match:
        proc.kill()
        raise SystemExit(f"the server did not start: {first}{proc.stdout.read()}")
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # drain its console
    url = match.group(1)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status, _ = request(connect(url), "GET", "/v2/health/ready")
        if status == 200:
            return proc, url
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not become ready in 120 s")


def connect(url: str) -> http.client.HTTPConnection:
    parsed = urlparse(url)
    return http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)


def request(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    """One request on a keep-alive connection (http.client reconnects when the server closed it); 0 on a failure."""
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        conn.close()
        return 0, b""


def body_for(row: dict, request_id: str) -> bytes:
    inputs = [
        {"name": k, "shape": [1], "datatype": "BYTES" if isinstance(v, str) else "FP64", "data": [v]}
        for k, v in row.items()
    ]
    return json.dumps({"id": request_id, "inputs": inputs}).encode()


def measure(url: str, rows: list[dict], clients: int, total: int) -> dict:
    """``total`` requests from ``clients`` threads; latency percentiles of the successes, throughput, failures."""
    per_client = max(1, total // clients)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures = [0] * clients
    bodies = [body_for(row, f"bench-{i}") for i, row in enumerate(rows)]
    start = threading.Barrier(clients + 1)

    def client(k: int) -> None:
        conn = connect(url)
        start.wait()
        for i in range(per_client):
            began = time.perf_counter()
            status, _ = request(conn, "POST", f"/v2/models/{MODEL}/infer", bodies[(k * per_client + i) % len(bodies)])
            if status == 200:
                latencies[k].append((time.perf_counter() - began) * 1000)
            else:
                failures[k] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    done = sorted(x for xs in latencies for x in xs)

    def pct(p: float) -> float:
        return done[min(len(done) - 1, int(p / 100 * len(done)))] if done else float("nan")

    return {
        "clients": clients,
        "requests": per_client * clients,
        "failures": sum(failures),
        "p50_ms": pct(50),
        "p99_ms": pct(99),
        "throughput": len(done) / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,16,64", help="comma-separated concurrency levels")
    parser.add_argument("--requests", type=int, default=2000, help="requests per level (split across the clients)")
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout whose `mlops serve` is measured")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="serving-bench-") as tmp:
        root = Path(tmp)
        rows = train_and_register(root)
        proc, url = start_server(root, args.repo.resolve())
        try:
            measure(url, rows, 4, 200)  # warm-up: models loaded, connections and caches hot
            print(f"server: {args.repo.resolve()} ({url}); {os.cpu_count()} CPUs; single-applicant requests")
            print(f"{'clients':>8} {'requests':>9} {'failed':>7} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
            for clients in (int(c) for c in args.clients.split(",")):
                r = measure(url, rows, clients, args.requests)
                print(
                    f"{r['clients']:>8} {r['requests']:>9} {r['failures']:>7} {r['p50_ms']:>8.1f} "
                    f"{r['p99_ms']:>8.1f} {r['throughput']:>8.0f}",
                    flush=True,
                )
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()

"""Policy gate speed: the whole gate against bare Checkov, and the gate on synthetic programs of growing size.

Prints, with the load average (the figures are wall times on a possibly shared machine):
- ``mlops gate --all`` wall time (a subprocess, as CI runs it: imports, previews, translation, one Checkov run,
  reports);
- the same Checkov run bare over the same translated files (``checkov -d DIR --framework terraform_plan arm
  kubernetes -o json`` with the same external checks and ``--skip-download``; again with the gate's ``--compact``),
  and the ratios (target <= 1.3x);
- ``mlops gate --program DIR`` on generated programs of 500, 1,000, 2,000 and 5,000 resources, a realistic mix of
  aws (KMS key, bucket with its encryption, versioning and public-access-block resources), azure-native (storage
  account with its blob service) and kubernetes (Deployment, Service, NetworkPolicy) resources (target: linear
  growth, 5,000 under 60 s on 2 cores).

Usage: python benchmarks/gate.py [--sizes 500,1000,2000,5000] [--repeat N] [--skip-stacks]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MLOPS = ROOT / ".venv" / "bin" / "mlops"
RESOURCES_PER_UNIT = 10

SYNTHETIC_PROGRAM = '''
"""Synthetic program for benchmarks/gate.py: ``synthetic:resources`` resources in units of 10."""

import json

import pulumi
from pulumi_aws import kms, s3
from pulumi_azure_native import storage
from pulumi_kubernetes.apps.v1 import Deployment
from pulumi_kubernetes.core.v1 import Service
from pulumi_kubernetes.networking.v1 import NetworkPolicy

TAGS = {"owner": "ml-platform", "cost-center": "CC-1", "data-classification": "internal"}
units = pulumi.Config("synthetic").require_int("resources") // 10
for i in range(units):
    key = kms.Key(f"key-{i}", enable_key_rotation=True, deletion_window_in_days=30, tags=TAGS)
    bucket = s3.Bucket(f"data-{i}", bucket=f"synthetic-data-{i}", tags=TAGS)
    s3.BucketServerSideEncryptionConfiguration(f"data-{i}", bucket=bucket.id, rules=[{
        "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn},
        "bucket_key_enabled": True}])
    s3.BucketVersioning(f"data-{i}", bucket=bucket.id, versioning_configuration={"status": "Enabled"})
    s3.BucketPublicAccessBlock(f"data-{i}", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
                               ignore_public_acls=True, restrict_public_buckets=True)
    account = storage.StorageAccount(
        f"st{i}", account_name=f"stsynthetic{i}", resource_group_name="rg-synthetic", location="uaenorth",
        kind="StorageV2", sku={"name": "Standard_ZRS"}, minimum_tls_version="TLS1_2",
        enable_https_traffic_only=True, allow_blob_public_access=False, tags=TAGS,
        network_rule_set={"default_action": "Deny", "bypass": "AzureServices"})
    storage.BlobServiceProperties(
        f"st{i}-blob", account_name=account.name, resource_group_name="rg-synthetic", blob_services_name="default",
        delete_retention_policy={"enabled": True, "days": 30}, is_versioning_enabled=True)
    labels = {"app.kubernetes.io/name": f"svc-{i}"}
    Deployment(f"svc-{i}", metadata={"name": f"svc-{i}", "namespace": "synthetic", "labels": labels}, spec={
        "replicas": 2, "selector": {"match_labels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
            "name": "app", "image": "registry.example/app@sha256:" + "0" * 64,
            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "256Mi"}},
            "security_context": {"run_as_non_root": True, "run_as_user": 10001, "read_only_root_filesystem": True,
                                 "allow_privilege_escalation": False, "capabilities": {"drop": ["ALL"]}}}]}}})
    Service(f"svc-{i}", metadata={"name": f"svc-{i}", "namespace": "synthetic"},
            spec={"selector": labels, "ports": [{"port": 80, "target_port": 8080}]})
    NetworkPolicy(f"svc-{i}", metadata={"name": f"svc-{i}", "namespace": "synthetic"},
                  spec={"pod_selector": {"match_labels": labels}, "policy_types": ["Ingress"]})
'''


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


CHECKOV_SHARE = re.compile(r"\(Checkov\s[^,]*,\s+([0-9.]+)\s+s\)")
checkov_seconds: list[float] = []
"""Checkov's own wall time inside each gate run, as the gate's terminal report prints it."""


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None, ok: tuple[int, ...] = (0, 1)) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, check=False, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in ok:
        raise SystemExit(
            f"{' '.join(command[:4])}... exited {proc.returncode}:\n{(proc.stderr or proc.stdout)[-3000:]}"
        )
    found = CHECKOV_SHARE.search(proc.stdout)
    if found:
        checkov_seconds.append(float(found.group(1)))
    return wall


def median_of(repeat: int, run) -> float:
    return statistics.median(run() for _ in range(repeat))


def bare_checkov(workdir: Path, repeat: int) -> tuple[float, float, int]:
    """Write the translated files of every stack with the translation API, then time Checkov alone over them:
    as the brief words it (``-o json``), and with the flags the gate adds (``--compact``: no code blocks in the
    JSON, which halves Checkov's own time on large inputs)."""
    from policies.checkov import CHECKS_DIR, FRAMEWORKS, checkov_executable, write_inputs
    from policies.gate import collect_inputs
    from policies.translate import translate_all

    translated = translate_all(collect_inputs(all_stacks=True))
    sent = write_inputs(translated, workdir)
    command = [
        str(checkov_executable()),
        "-d",
        str(workdir),
        "--framework",
        *FRAMEWORKS,
        "-o",
        "json",
        "--external-checks-dir",
        str(CHECKS_DIR),
        "--skip-download",
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("BC_API_KEY", "CKV_API_KEY")}
    env["BC_SKIP_MAPPING"] = "TRUE"
    plain = median_of(repeat, lambda: timed(command, workdir, env))
    compact = median_of(repeat, lambda: timed([*command, "--compact"], workdir, env))
    return plain, compact, len(sent)


def synthetic_program(root: Path, resources: int) -> Path:
    program = root / f"synthetic-{resources}"
    program.mkdir(parents=True)
    (program / "Pulumi.yaml").write_text("name: synthetic\nruntime: python\n")
    (program / "Pulumi.bench.yaml").write_text(
        f'config:\n  synthetic:resources: "{resources}"\n  aws:region: me-central-1\n'
    )
    (program / "__main__.py").write_text(textwrap.dedent(SYNTHETIC_PROGRAM))
    return program


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="500,1000,2000,5000", help="synthetic program sizes (comma-separated; empty: none)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure; the median is printed")
    parser.add_argument("--skip-stacks", action="store_true", help="only the synthetic programs")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if not MLOPS.is_file():
        raise SystemExit(f"{MLOPS} is missing: run `make setup`")
    print(f"before: {load()}")
    rows: list[tuple[str, str, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="mlops-gate-bench-") as tmp:
        work = Path(tmp)
        if not args.skip_stacks:
            gate = median_of(
                args.repeat, lambda: timed([str(MLOPS), "gate", "--all", "--allow-unscanned", "command"], ROOT)
            )
            bare, compact, count = bare_checkov(work / "translated", args.repeat)
            rows.append(("mlops gate --all", f"{count}", gate, f"of which Checkov {checkov_seconds[-1]:.1f} s"))
            rows.append(("bare checkov -o json, same files", f"{count}", bare, ""))
            rows.append(("bare checkov ... --compact", f"{count}", compact, "the gate's own Checkov flags"))
            for label, base in (("ratio gate / bare", bare), ("ratio gate / bare --compact", compact)):
                ratio = gate / base
                rows.append((label, "", ratio, "target <= 1.3x: " + ("OK" if ratio <= 1.3 else "OVER TARGET")))
        per_resource: list[float] = []
        for size in sizes:
            program = synthetic_program(work, size)
            command = [str(MLOPS), "gate", "--program", str(program), "--stack", "bench"]
            wall = median_of(args.repeat, lambda command=command: timed(command, ROOT))
            per_resource.append(wall / size)
            note = f"{1000 * wall / size:.1f} ms/resource, of which Checkov {checkov_seconds[-1]:.1f} s"
            if size == 5000:
                note += "; target < 60 s: " + ("OK" if wall < 60 else "OVER TARGET")
            rows.append(("mlops gate --program (synthetic)", f"{size}", wall, note))
            shutil.rmtree(program)
    print(f"after:  {load()}")
    print(f"\n{'what':<34} {'resources':>9} {'wall s':>8}  note")
    for what, count, wall, note in rows:
        value = f"{wall:>7.2f}x" if what.startswith("ratio") else f"{wall:>8.2f}"
        print(f"{what:<34} {count:>9} {value}  {note}")
    if len(per_resource) >= 2:
        growth = per_resource[-1] / per_resource[0]
        print(
            f"\nper-resource cost, largest / smallest size: {growth:.2f} (1.0 = linear; fixed start-up costs make it < 1)"
        )
    print(json.dumps({"rows": [{"what": w, "resources": c, "value": round(v, 3)} for w, c, v, _ in rows]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

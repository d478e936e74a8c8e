"""The real Checkov over translated files: every translated resource is scanned, and known gaps are found."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests import venvs

CHECKOV = venvs.CHECKOV
FRAMEWORK_FILES = {"terraform_plan": "tfplan.json", "arm": "arm", "kubernetes": "k8s/"}

pytestmark = [
    pytest.mark.slow,
    venvs.requires(CHECKOV, "Checkov's environment (.venv-checkov)"),
]


def write(files: dict, root: Path) -> None:
    for name, doc in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(doc, sort_keys=False) if name.endswith(".yaml") else json.dumps(doc, indent=1))


@pytest.fixture(scope="module")
def scan(mixed, tmp_path_factory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("translated")
    write(mixed.files, root)
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    env.pop("BC_API_KEY", None)
    proc = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(root),
            "--framework",
            "terraform_plan",
            "arm",
            "kubernetes",
            "-o",
            "json",
            "--compact",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    reports = json.loads(proc.stdout)
    return {r["check_type"]: r for r in (reports if isinstance(reports, list) else [reports])}


def _failed(report: dict, resource: str) -> set[str]:
    return {c["check_id"] for c in report["results"]["failed_checks"] if c["resource"] == resource}


def test_checkov_scans_every_translated_resource(mixed, scan):
    for framework, prefix in FRAMEWORK_FILES.items():
        sent = [key for key in mixed.origins if key[0].startswith(prefix)]
        report = scan[framework]
        assert report["summary"]["resource_count"] == len(sent), framework
        assert report["summary"]["parsing_errors"] == 0
        reported = {c["resource"] for k in ("passed_checks", "failed_checks") for c in report["results"][k]}
        assert reported <= {rid for _, rid in sent}, (
            f"{framework}: ids with no origin {reported - {rid for _, rid in sent}}"
        )


def test_known_failures_fire_and_linked_resources_pass(scan):
    tf = scan["terraform_plan"]
    assert {"CKV_AWS_18", "CKV_AWS_145", "CKV_AWS_21", "CKV2_AWS_6"} <= _failed(tf, "aws_s3_bucket.open")
    # The secured bucket is encrypted, versioned, logged and blocked by separate resources: graph links work.
    assert not {"CKV_AWS_18", "CKV_AWS_145", "CKV_AWS_21", "CKV2_AWS_6"} & _failed(tf, "aws_s3_bucket.data")
    assert "CKV_AZURE_44" in _failed(scan["arm"], "Microsoft.Storage/storageAccounts.stmlopsweak")  # TLS 1.0
    assert "CKV_AZURE_3" in _failed(scan["arm"], "Microsoft.Storage/storageAccounts.stmlopsweak")  # HTTPS only
    assert "CKV_AZURE_33" in _failed(  # queue logging lacks write/delete: Checkov sees the nested setting
        scan["arm"],
        "Microsoft.Storage/storageAccounts/queueServices/providers/diagnosticsettings.stmlopsweak/default/Microsoft.Insights/to-law",
    )
    assert len(_failed(scan["kubernetes"], "Deployment.apps.web")) >= 10

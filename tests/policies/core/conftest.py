"""Hand-made gate inputs: a small preview (one S3 bucket, one KMS key, one Deployment) and fake Checkov executables."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from policies.preview.model import UNKNOWN

FIXTURES = Path(__file__).parent / "fixtures"
STACK = "gate-test"
PROJECT = "mlops"


def urn(type_chain: str, name: str, stack: str = STACK) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{type_chain}::{name}"


STACK_URN = urn("pulumi:pulumi:Stack", f"{PROJECT}-{STACK}")
BUCKET_URN = urn("mlops:aws:DataBucket$aws:s3/bucket:Bucket", "datasets")


def preview_json_doc(*, bucket_tags: dict | None = None, region: str = "me-central-1") -> dict:
    """What `pulumi preview --json` prints for a component holding a bucket, plus a deleted resource and a KMS key."""
    tags = (
        bucket_tags
        if bucket_tags is not None
        else {"owner": "ml", "cost-center": "CC-1", "data-classification": "internal"}
    )
    component = urn("mlops:aws:DataBucket", "datasets")
    return {
        "steps": [
            {"op": "same", "urn": STACK_URN, "newState": {"type": "pulumi:pulumi:Stack", "custom": False}},
            {
                "op": "create",
                "urn": component,
                "newState": {"type": "mlops:aws:DataBucket", "custom": False, "parent": STACK_URN},
            },
            {
                "op": "create",
                "urn": BUCKET_URN,
                "newState": {
                    "type": "aws:s3/bucket:Bucket",
                    "custom": True,
                    "parent": component,
                    "inputs": {
                        "bucket": "datasets-x",
                        "region": region,
                        "tags": tags,
                        "arn": UNKNOWN,
                        "__defaults": ["forceDestroy"],
                        "forceDestroy": False,
                    },
                    "propertyDependencies": {"bucket": []},
                    "dependencies": [],
                },
            },
            {
                "op": "create",
                "urn": urn("aws:kms/key:Key", "data-key"),
                "newState": {
                    "type": "aws:kms/key:Key",
                    "custom": True,
                    "parent": STACK_URN,
                    "inputs": {
                        "enableKeyRotation": True,
                        "description": "data",
                        "tags": tags,
                        "policy": {
                            "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                            "ciphertext": "xx",
                        },
                    },
                },
            },
            {"op": "delete", "urn": urn("aws:s3/bucket:Bucket", "old"), "oldState": {"type": "aws:s3/bucket:Bucket"}},
            {
                "op": "read",
                "urn": urn("aws:s3/bucket:Bucket", "existing"),
                "newState": {"type": "aws:s3/bucket:Bucket"},
            },
        ]
    }


def stack_export_doc(stack: str = STACK) -> dict:
    stack_urn, bucket_urn = (
        urn("pulumi:pulumi:Stack", f"{PROJECT}-{stack}", stack),
        urn("aws:s3/bucket:Bucket", "datasets", stack),
    )
    return {
        "version": 3,
        "deployment": {
            "manifest": {"time": "2026-11-01T00:00:00Z"},
            "resources": [
                {"urn": stack_urn, "custom": False, "type": "pulumi:pulumi:Stack"},
                {
                    "urn": bucket_urn,
                    "custom": True,
                    "type": "aws:s3/bucket:Bucket",
                    "parent": stack_urn,
                    "inputs": {"bucket": "datasets-x", "__defaults": []},
                    "outputs": {"arn": "arn:aws:s3:::datasets-x"},
                    "dependencies": [],
                    "propertyDependencies": {},
                },
            ],
        },
    }


@pytest.fixture
def write_json(tmp_path: Path):
    def write(doc: object, name: str = "in.json") -> Path:
        path = tmp_path / name
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
        return path

    return write


@pytest.fixture
def fake_checkov(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Point MLOPS_CHECKOV at a shell script with the given body."""

    def make(body: str) -> Path:
        script = tmp_path / "fake-checkov"
        script.write_text("#!/bin/sh\n" + textwrap.dedent(body))
        script.chmod(0o755)
        monkeypatch.setenv("MLOPS_CHECKOV", str(script))
        return script

    return make


def checkov_report(check_type: str, records: list[tuple[str, str, str, str]], resource_count: int) -> dict:
    """A Checkov JSON report: records are (check_id, result, file_path, resource)."""
    buckets = {"passed_checks": [], "failed_checks": [], "skipped_checks": [], "parsing_errors": []}
    for check_id, result, file_path, resource in records:
        buckets[f"{result.lower()}_checks"].append(
            {
                "check_id": check_id,
                "check_name": f"name of {check_id}",
                "check_result": {"result": result},
                "file_path": file_path,
                "resource": resource,
                "check_class": "checkov.terraform.checks.resource.aws.X",
            }
        )
    return {
        "check_type": check_type,
        "results": buckets,
        "summary": {"passed": 0, "failed": 0, "resource_count": resource_count, "checkov_version": "3.3.30"},
    }

"""`mlops gate` flags and exit codes: 2 whenever the gate cannot do its job, with a message naming the cause."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from typer.testing import CliRunner

from infra.cli import app
from tests.policies.core.conftest import STACK, preview_json_doc

runner = CliRunner()


def gate(*args: str):
    return runner.invoke(app, ["gate", *args])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "nothing to gate"),
        (
            ("--stack", "x", "--format", "xml", "--output", "r.xml"),
            "--format 'xml' is not a report format; allowed: json, sarif, junit, html",
        ),
        (("--stack", "x", "--format", "sarif"), "--format sarif needs --output PATH"),
        (("--stack", "x", "--output", "r.json"), "needs --format"),
        (("--stack", "x", "--timeout", "0"), "--timeout 0: must be a positive number"),
        (("--all", "--program", "."), "--all gates this project's stacks"),
        (("--bogus",), "No such option: --bogus"),
        (("--stack", "no-such-stack"), "unknown stack 'no-such-stack'"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(args, message):
    outcome = gate(*args)
    assert outcome.exit_code == 2
    assert message in " ".join(outcome.output.split())


def test_malformed_preview_json_exits_2(write_json):
    path = write_json("{")
    outcome = gate("--preview-json", str(path))
    assert (
        outcome.exit_code == 2
        and "not valid JSON" in outcome.output
        and "the gate could not do its job" in outcome.output
    )


def test_untranslatable_resource_exits_2_never_0(write_json):
    doc = preview_json_doc()
    doc["steps"][2]["newState"]["type"] = "aws:s3/noSuchThing:NoSuchThing"
    outcome = gate("--preview-json", str(write_json(doc)))
    assert outcome.exit_code == 2 and "cannot be translated" in " ".join(outcome.output.split())


def test_checkov_absent_exits_2(write_json, monkeypatch, tmp_path):
    monkeypatch.setenv("MLOPS_CHECKOV", str(tmp_path / "absent"))
    outcome = gate("--preview-json", str(write_json(preview_json_doc())))
    assert outcome.exit_code == 2 and "Checkov is missing" in outcome.output


def test_checkov_crashing_exits_2(write_json, fake_checkov):
    fake_checkov("echo 'Segmentation fault' >&2\nexit 139\n")
    outcome = gate("--preview-json", str(write_json(preview_json_doc())))
    assert outcome.exit_code == 2 and "Checkov crashed (exit 139" in outcome.output


def test_reasonless_suppression_exits_2(write_json, tmp_path):
    folder = tmp_path / "suppressions"
    folder.mkdir()
    entry = {"check": "CKV_AWS_144", "resource": "datasets", "expires": "2030-01-01", "approved_by": "x"}
    (folder / f"{STACK}.yaml").write_text(yaml.safe_dump({"suppressions": [entry]}))
    outcome = gate("--preview-json", str(write_json(preview_json_doc())), "--suppressions", str(folder))
    assert outcome.exit_code == 2 and "reason missing" in outcome.output


def test_cli_import_stays_light():
    heavy = "('pulumi', 'checkov', 'policies.gate', 'policies.translate', 'yaml')"
    code = f"import sys, infra.cli; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_invalid_records_of_processing_exit_2_before_anything_is_gated(tmp_path, monkeypatch):
    from policies.compliance import records

    (tmp_path / "credit_risk_v1.yaml").write_text("version: 1\nfeature_service: credit_risk_v1\n")
    monkeypatch.setattr(records, "RECORDS_DIR", tmp_path)
    result = gate("--stack", "aws-uae-prod")
    assert result.exit_code == 2
    assert "credit_risk_v1.yaml: purpose: Field required" in " ".join(result.output.split())

"""The gate fails closed: no input, flag or fault makes it exit 0 with fewer resources scanned than were declared.

Each test here failed on the gate before the fail-closed work (it passed, or crashed with a traceback)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.cli import app
from policies.checkov import CHECKS_DIR
from policies.compliance import load_catalog
from policies.gate import GateError, assemble, run_gate
from policies.inputs import from_preview_json, from_stack_export
from policies.preview.model import UNKNOWN
from policies.suppressions import SUPPRESSIONS_DIR, Suppression, SuppressionFileError, load_approvers, load_file
from policies.translate import translate
from tests.policies.checkov.test_faults import small_stack
from tests.policies.core.conftest import BUCKET_URN, STACK_URN, preview_json_doc, stack_export_doc, urn
from tests.policies.core.test_gate_verdicts import result

runner = CliRunner()
REPO = Path(__file__).resolve().parents[3]


def gate(*args: str):
    return runner.invoke(app, ["gate", *args])


def step(type_: str, name: str, inputs: dict | None = None, **state) -> dict:
    chain = type_ if "parent_type" not in state else f"{state.pop('parent_type')}${type_}"
    return {
        "op": "create",
        "urn": urn(chain, name),
        "newState": {"type": type_, "parent": STACK_URN, "inputs": inputs or {}, **state},
    }


def preview(*steps: dict) -> dict:
    return {
        "steps": [
            {"op": "same", "urn": STACK_URN, "newState": {"type": "pulumi:pulumi:Stack", "custom": False}},
            *steps,
        ]
    }


def custom_false_doc() -> dict:
    doc = preview_json_doc()
    for s in doc["steps"]:
        if s.get("newState", {}).get("type", "").startswith("aws:"):
            s["newState"]["custom"] = False
    return doc


def export_without_custom_doc() -> dict:
    doc = stack_export_doc()
    for r in doc["deployment"]["resources"]:
        r.pop("custom", None)
    return doc


def pod(security: dict) -> dict:
    return step(
        "kubernetes:core/v1:Pod",
        "runner",
        {
            "metadata": {"name": "runner", "namespace": "ml"},
            "spec": {
                "containers": [{"name": "c", "image": "busybox@sha256:" + "0" * 64, "securityContext": security}],
                "hostNetwork": UNKNOWN,
            },
        },
    )


# 1. custom-ness ------------------------------------------------------------------------------------------------------


def test_preview_json_custom_false_provider_resources_are_scanned(write_json):
    (result_,) = from_preview_json(write_json(custom_false_doc()))
    bucket = result_.by_urn()[BUCKET_URN]
    assert bucket.custom
    assert translate(result_).resource_count() == 2  # bucket and KMS key, not 0


def test_stack_export_without_custom_field_is_scanned(write_json):
    (result_,) = from_stack_export(write_json(export_without_custom_doc()))
    assert translate(result_).resource_count() == 1


def test_only_non_provider_tokens_are_components(write_json):
    doc = preview(
        step("pkg:index:Component", "comp", custom=False),
        step("mypkg:index:Thing", "thing", custom=False, id="abc"),
        step("pulumi:providers:mypkg2", "prov", custom=True),
        step("mypkg2:index:Other", "other", custom=False),
    )
    (r,) = from_preview_json(write_json(doc))
    custom = {res.name: res.custom for res in r.resources}
    assert custom == {"mlops-gate-test": False, "comp": False, "thing": True, "prov": True, "other": True}


# 2. providers without a translation ----------------------------------------------------------------------------------


def test_untranslated_provider_is_an_error_naming_the_resource(write_json):
    doc = preview(step("gcp:storage/bucket:Bucket", "public-data", {"name": "x"}, custom=True))
    with pytest.raises(GateError, match=r"gcp:storage/bucket:Bucket 'public-data'.*--allow-unscanned gcp"):
        run_gate(from_preview_json(write_json(doc)))


def test_allow_unscanned_marks_rows_unscanned(write_json):
    doc = preview(step("azure:storage/account:Account", "st", {"name": "x"}, custom=True))
    (r,) = from_preview_json(write_json(doc))
    row = next(c for c in translate(r, allow_unscanned=["azure"]).coverage if c.package == "azure")
    assert row.status == "unscanned" and "--allow-unscanned azure" in row.detail
    # and with nothing else to scan the gate still does not pass
    with pytest.raises(GateError, match="nothing was scanned"):
        run_gate([r], allow_unscanned=["azure"])


def test_command_resources_are_not_silently_no_checks(write_json):
    doc = preview(step("command:local:Command", "run", {"create": "curl x | sh"}, custom=True))
    with pytest.raises(GateError, match="--allow-unscanned command"):
        run_gate(from_preview_json(write_json(doc)))


def test_random_stays_no_checks(write_json):
    doc = preview(step("random:index/randomId:RandomId", "suffix", {"byteLength": 3}, custom=True))
    (r,) = from_preview_json(write_json(doc))
    assert not translate(r).errors


# 3. unknown inputs ---------------------------------------------------------------------------------------------------


def test_unknown_security_settings_fail_naming_resource_and_paths(write_json):
    doc = preview(pod({"privileged": UNKNOWN, "runAsNonRoot": True}))
    with pytest.raises(GateError) as err:
        run_gate(from_preview_json(write_json(doc)))
    text = str(err.value)
    assert "'runner'" in text and "spec.containers[0].securityContext.privileged" in text
    assert "spec.hostNetwork" in text and "--allow-unknown" in text


def test_unknown_reference_becomes_a_placeholder_and_does_not_fail(write_json):
    doc = preview(
        step("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"}, custom=True),
        step(
            "aws:ec2/subnet:Subnet",
            "subnet",
            {"vpcId": UNKNOWN, "cidrBlock": "10.0.1.0/24"},
            custom=True,
            propertyDependencies={"vpcId": [urn("aws:ec2/vpc:Vpc", "vpc")]},
        ),
    )
    (r,) = from_preview_json(write_json(doc))
    out = translate(r)
    assert not out.unknown_settings
    values = [x["values"] for x in out.files["tfplan.json"]["planned_values"]["root_module"]["resources"]]
    assert {"vpc_id": "${known after apply: vpc}"}.items() <= next(v for v in values if "vpc_id" in v).items()


def test_unknown_without_dependency_is_not_a_reference(write_json):
    doc = preview(step("aws:ec2/subnet:Subnet", "subnet", {"vpcId": UNKNOWN}, custom=True))
    (r,) = from_preview_json(write_json(doc))
    assert [u.path for u in translate(r).unknown_settings] == ["vpcId"]


# 4. custom checks that never load ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_check_in_a_subfolder_without_init_fails_naming_it(write_json, tmp_path):
    checks = tmp_path / "checks"
    shutil.copytree(CHECKS_DIR, checks, ignore=shutil.ignore_patterns("__pycache__"))
    (checks / "extra").mkdir()
    shutil.move(checks / "aws_kms_key_rotation.py", checks / "extra" / "aws_kms_key_rotation.py")
    with pytest.raises(GateError, match=r"CKV_MLOPS_006 \(.*extra/aws_kms_key_rotation.py\)"):
        run_gate(from_preview_json(write_json(preview_json_doc())), checks_dir=checks)


# 5. approvers --------------------------------------------------------------------------------------------------------


def test_unapproved_suppression_is_not_honoured():
    pending = Suppression(
        "CKV_AWS_21",
        "datasets",
        "accepted for a documented reason",
        dt.date(2027, 6, 30),
        "PENDING-SECURITY-REVIEW",
        "global.yaml",
        0,
        None,
    )
    report = assemble(
        [small_stack()],
        [result("CKV_AWS_21", "FAILED")],
        [pending],
        load_catalog(),
        dt.date(2027, 1, 15),
        approvers=frozenset({"ml-platform-team"}),
    )
    (finding,) = report.findings
    assert finding.status == "FAILED" and "PENDING-SECURITY-REVIEW" in finding.note and "approvers.yaml" in finding.note
    assert report.unapproved == [pending] and report.exit_code == 1


def test_shipped_approvers_list_the_platform_team_only():
    assert load_approvers() == frozenset({"ml-platform-team"})
    assert "PENDING-SECURITY-REVIEW" not in load_approvers()


@pytest.mark.parametrize("text", [None, "approvers: []\n", "approvers: ml\n", "- a\n", "approvers: [1]\n", "a: [\n"])
def test_missing_or_malformed_approvers_file_is_an_error(tmp_path, text):
    if text is not None:
        (tmp_path / "approvers.yaml").write_text(text)
    with pytest.raises(SuppressionFileError, match="approvers.yaml"):
        load_approvers(tmp_path)


def test_missing_approvers_file_exits_2(write_json, tmp_path):
    folder = tmp_path / "supp"
    folder.mkdir()
    outcome = gate("--preview-json", str(write_json(preview_json_doc())), "--suppressions", str(folder))
    assert outcome.exit_code == 2 and "approvers.yaml: missing" in outcome.output


# 6. unreadable inputs ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--preview-json", "--stack-export"])
def test_binary_input_exits_2_with_a_message(tmp_path, flag):
    path = tmp_path / "in.json"
    path.write_bytes(b"\xff\xfe\x00\x89PNG\x00\x00")
    outcome = gate(flag, str(path))
    assert outcome.exit_code == 2 and f"{flag} {path}: not UTF-8 text" in outcome.output
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit)


def test_impossible_expiry_date_exits_2_naming_file_entry_and_field(write_json, tmp_path):
    folder = tmp_path / "supp"
    folder.mkdir()
    shutil.copy(SUPPRESSIONS_DIR / "approvers.yaml", folder)
    (folder / "global.yaml").write_text(
        "suppressions:\n  - check: CKV_AWS_21\n    resource: '*'\n    reason: a long enough reason\n"
        "    expires: 2027-02-30\n    approved_by: ml-platform-team\n"
    )
    with pytest.raises(SuppressionFileError, match=r"global.yaml: suppressions\[0\]: expires = '2027-02-30'"):
        load_file(folder / "global.yaml", None)
    outcome = gate("--preview-json", str(write_json(preview_json_doc())), "--suppressions", str(folder))
    assert outcome.exit_code == 2 and "suppressions[0]: expires" in outcome.output


# 7. nothing scanned, no version --------------------------------------------------------------------------------------


def test_zero_resources_scanned_exits_2(write_json):
    doc = preview(step("mlops:aws:Network", "net", custom=False))
    outcome = gate("--preview-json", str(write_json(doc)))
    assert outcome.exit_code == 2 and "nothing was scanned" in outcome.output


def test_checkov_report_without_version_exits_2(write_json, fake_checkov, tmp_path):
    report = {
        "check_type": "terraform_plan",
        "results": {"passed_checks": [], "failed_checks": []},
        "summary": {"resource_count": 2},
    }
    (tmp_path / "report.json").write_text(json.dumps(report))
    fake_checkov(f"cat {tmp_path / 'report.json'}\n")
    outcome = gate("--preview-json", str(write_json(preview_json_doc())))
    assert outcome.exit_code == 2 and "checkov_version" in outcome.output


# 8. SIGTERM ----------------------------------------------------------------------------------------------------------


def test_sigterm_mid_run_cleans_temporary_folders_and_checkov(tmp_path, write_json):
    marker = tmp_path / "checkov.pid"
    script = tmp_path / "slow-checkov"
    script.write_text(f"#!/bin/sh\necho $$ > {marker}\nexec sleep 60\n")
    script.chmod(0o755)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "MLOPS_CHECKOV": str(script), "TMPDIR": str(tmp), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "gate", "--preview-json", str(write_json(preview_json_doc()))],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (marker.is_file() and marker.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.is_file(), "the stand-in Checkov never started"
    assert list(tmp.glob("mlops-gate-*"))
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "interrupted by SIGTERM" in out, out
    assert not list(tmp.glob("mlops-gate-*"))
    with pytest.raises(ProcessLookupError):
        os.kill(int(marker.read_text()), 0)


# 9. the fault suite --------------------------------------------------------------------------------------------------


def _broken_checks(tmp_path: Path) -> Path:
    checks = tmp_path / "checks"
    shutil.copytree(CHECKS_DIR, checks, ignore=shutil.ignore_patterns("__pycache__"))
    (checks / "sub").mkdir()
    shutil.move(checks / "aws_kms_key_rotation.py", checks / "sub" / "aws_kms_key_rotation.py")
    return checks


FAULTS = {
    "preview-json custom false": lambda: custom_false_doc(),
    "stack export without custom": lambda: export_without_custom_doc(),
    "unknown provider": lambda: preview(step("gcp:compute/instance:Instance", "vm", {"name": "vm"}, custom=True)),
    "unknown security values": lambda: preview(pod({"privileged": UNKNOWN, "runAsNonRoot": True})),
    "zero resources": lambda: preview(step("mlops:aws:Network", "net", custom=False)),
    "broken check folder": lambda: preview_json_doc(),
}


@pytest.mark.slow
@pytest.mark.parametrize("fault", list(FAULTS))
def test_no_path_exits_0_with_fewer_resources_scanned_than_declared(fault, tmp_path, monkeypatch):
    import policies.checkov.model as runner_module

    doc = copy.deepcopy(FAULTS[fault]())
    path = tmp_path / "in.json"
    path.write_text(json.dumps(doc))
    flag = "--stack-export" if "deployment" in doc else "--preview-json"
    if fault == "broken check folder":
        monkeypatch.setattr(runner_module, "CHECKS_DIR", _broken_checks(tmp_path))
    out = tmp_path / "gate.json"
    outcome = gate(flag, str(path), "--format", "json", "--output", str(out))
    assert outcome.exit_code != 0, outcome.output
    if outcome.exit_code == 1:  # a verdict: then every custom resource of a checked provider was scanned
        reader = from_stack_export if flag == "--stack-export" else from_preview_json
        declared = sum(
            1 for r in reader(path)[0].resources if r.custom and r.package in ("aws", "azure-native", "kubernetes")
        )
        scanned = sum(s["resourcesScanned"] for s in json.loads(out.read_text())["stacks"])
        assert scanned >= declared


@pytest.mark.slow
def test_exit_0_only_with_every_custom_resource_scanned(tmp_path):
    """The other half of the invariant: where the gate reaches a verdict, every custom resource of a checked
    provider is in the scan (coverage "translated", one Checkov resource each)."""
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(preview_json_doc()))
    report = run_gate(from_preview_json(path))
    (stack,) = report.stacks
    declared = [r for r in stack.coverage if r.package in ("aws", "azure-native", "kubernetes")]
    assert declared and all(r.status == "translated" for r in declared)
    assert stack.resources_sent == len(declared)


# reports list unknown inputs, unscanned rows and suppressions not honoured -------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "html", "terminal"])
def test_every_report_lists_unknown_inputs_unscanned_rows_and_unapproved_suppressions(tmp_path, fmt):
    from rich.console import Console

    from policies.reports import write
    from policies.reports.terminal import print_report
    from policies.translate.model import CoverageRow, UnknownValue

    stack = small_stack()
    stack.coverage.append(
        CoverageRow(
            urn("gcp:storage/bucket:Bucket", "gbucket"),
            "gcp:storage/bucket:Bucket",
            "gcp",
            "unscanned",
            detail="the gate has no translation for provider 'gcp'; --allow-unscanned gcp allowed it",
        )
    )
    stack.unknown.append(UnknownValue(BUCKET_URN, "datasets", "aws:s3/bucket:Bucket", "acl"))
    pending = Suppression(
        "CKV_AWS_21",
        "datasets",
        "accepted for a documented reason",
        dt.date(2027, 6, 30),
        "PENDING-SECURITY-REVIEW",
        "global.yaml",
        0,
        None,
    )
    report = assemble(
        [stack],
        [result("CKV_AWS_21", "FAILED")],
        [pending],
        load_catalog(),
        dt.date(2027, 1, 15),
        checkov_version="3.3.30",
        approvers=frozenset({"ml-platform-team"}),
    )
    if fmt == "terminal":
        console = Console(record=True, width=300)
        print_report(console, report)
        text = console.export_text()
    else:
        write(report, fmt, tmp_path / f"r.{fmt}")
        text = (tmp_path / f"r.{fmt}").read_text()
    assert "gbucket" in text and "--allow-unscanned gcp" in text
    assert "acl" in text and "PENDING-SECURITY-REVIEW" in text and "3.3.30" in text


@pytest.mark.slow
def test_allow_unknown_gates_and_lists_the_unknown_inputs(tmp_path):
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(preview(pod({"privileged": UNKNOWN, "runAsNonRoot": True}))))
    out = tmp_path / "gate.json"
    outcome = gate("--preview-json", str(path), "--allow-unknown", "--format", "json", "--output", str(out))
    assert outcome.exit_code in (0, 1), outcome.output
    assert "spec.containers[0].securityContext.privileged" in outcome.output
    listed = {u["input"] for s in json.loads(out.read_text())["stacks"] for u in s["unknownInputs"]}
    assert {"spec.containers[0].securityContext.privileged", "spec.hostNetwork"} <= listed


@pytest.mark.slow
def test_allow_unscanned_flag_lists_the_rows_and_gates_the_rest(tmp_path):
    doc = preview_json_doc()
    doc["steps"].append(step("gcp:storage/bucket:Bucket", "gbucket", {"name": "g"}, custom=True))
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(doc))
    out = tmp_path / "gate.json"
    outcome = gate("--preview-json", str(path), "--allow-unscanned", "gcp", "--format", "json", "--output", str(out))
    assert outcome.exit_code in (0, 1), outcome.output
    assert "UNSCANNED" in outcome.output and "gbucket" in outcome.output
    (stack,) = json.loads(out.read_text())["stacks"]
    assert [r["urn"].rsplit("::", 1)[-1] for r in stack["unscanned"]] == ["gbucket"]
    assert stack["resourcesScanned"] == 2


def test_references_become_placeholders_in_arm_and_kubernetes_too(write_json):
    subnet = urn("azure-native:network:Subnet", "snet")
    account = urn("kubernetes:core/v1:ServiceAccount", "sa")
    doc = preview(
        step(
            "azure-native:network:Subnet",
            "snet",
            {"subnetName": "snet", "resourceGroupName": "rg", "virtualNetworkName": "vnet"},
            custom=True,
        ),
        step(
            "azure-native:network:NetworkInterface",
            "nic",
            {
                "networkInterfaceName": "nic",
                "resourceGroupName": "rg",
                "location": "uaenorth",
                "ipConfigurations": [{"name": "c", "subnet": {"id": UNKNOWN}}],
            },
            custom=True,
            propertyDependencies={"ipConfigurations": [subnet]},
        ),
        step("kubernetes:core/v1:ServiceAccount", "sa", {"metadata": {"name": "sa", "namespace": "ml"}}, custom=True),
        step(
            "kubernetes:core/v1:Pod",
            "p",
            {
                "metadata": {"name": "p", "namespace": "ml"},
                "spec": {"serviceAccountName": UNKNOWN, "containers": [{"name": "c", "image": "x"}]},
            },
            custom=True,
            propertyDependencies={"spec": [account]},
        ),
    )
    (r,) = from_preview_json(write_json(doc))
    out = translate(r)
    assert not out.unknown_settings and len(out.unknown) == 2
    text = json.dumps(out.files, default=str)
    assert "${known after apply: snet}" in text and "${known after apply: sa}" in text

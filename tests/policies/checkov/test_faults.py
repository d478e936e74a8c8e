"""The runner fails closed: every way Checkov can fall short raises CheckovError with a clear message.

Fake Checkov executables (MLOPS_CHECKOV) stand in for a missing, crashing, hanging, erroring or incomplete Checkov;
the real Checkov's own faults (a custom check that raises) are in tests/policies/core/test_gate_checkov.py.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from policies.checkov import CheckovError, checkov_executable, run_checkov
from policies.translate.model import Origin, TranslatedStack
from tests.policies.core.conftest import BUCKET_URN, STACK, checkov_report

FILE = f"/{STACK}/tfplan.json"
ADDRESS = "aws_s3_bucket.datasets"


def small_stack() -> TranslatedStack:
    origin = Origin(
        stack=STACK,
        stack_file=f"stacks/Pulumi.{STACK}.yaml",
        urn=BUCKET_URN,
        name="datasets",
        type="aws:s3/bucket:Bucket",
        component="mlops:aws:DataBucket datasets",
    )
    plan = {
        "format_version": "1.2",
        "terraform_version": "1.9.0",
        "planned_values": {
            "root_module": {
                "resources": [
                    {
                        "address": ADDRESS,
                        "mode": "managed",
                        "type": "aws_s3_bucket",
                        "name": "datasets",
                        "values": {"bucket": "x"},
                    }
                ]
            }
        },
    }
    return TranslatedStack(
        stack=STACK,
        source=origin.stack_file,
        files={"tfplan.json": plan, "mlops-context.cfg": {"stack": STACK}},
        origins={("tfplan.json", ADDRESS): origin},
    )


@pytest.fixture
def empty_checks(tmp_path: Path) -> Path:
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "__init__.py").touch()
    return checks


def emits(fake_checkov, doc: object, *, stderr: str = "", code: int = 0, dump: Path | None = None) -> None:
    text = doc if isinstance(doc, str) else json.dumps(doc)
    copy = f'cp -r . "{dump}"\n' if dump else ""
    fake_checkov(f"{copy}cat <<'JSON'\n{text}\nJSON\nprintf '%s' '{stderr}' >&2\nexit {code}\n")


def test_a_complete_report_traces_results_to_pulumi_resources(fake_checkov, empty_checks, tmp_path):
    dump = tmp_path / "scanned"
    emits(fake_checkov, [checkov_report("terraform_plan", [("CKV_AWS_21", "FAILED", FILE, ADDRESS)], 1)], dump=dump)
    run = run_checkov([small_stack()], checks_dir=empty_checks)
    [result] = run.results
    assert (result.check_id, result.result, result.origin.urn, result.origin.component) == (
        "CKV_AWS_21",
        "FAILED",
        BUCKET_URN,
        "mlops:aws:DataBucket datasets",
    )
    assert json.loads((dump / STACK / "tfplan.json").read_text())["planned_values"]
    assert json.loads((dump / STACK / "mlops-context.cfg").read_text()) == {"stack": STACK}


def test_checkov_absent(monkeypatch, empty_checks, tmp_path):
    monkeypatch.setenv("MLOPS_CHECKOV", str(tmp_path / "nothing-here"))
    with pytest.raises(CheckovError, match="Checkov is missing: MLOPS_CHECKOV points to"):
        run_checkov([small_stack()], checks_dir=empty_checks)


def test_checkov_crashing_with_exit_3(fake_checkov, empty_checks):
    fake_checkov("echo 'Traceback: boom' >&2\nexit 3\n")
    with pytest.raises(CheckovError, match=r"Checkov crashed \(exit 3.*\n.*boom"):
        run_checkov([small_stack()], checks_dir=empty_checks)


def test_checkov_printing_garbage(fake_checkov, empty_checks):
    emits(fake_checkov, "Passed checks: 3, Failed checks: 0")
    with pytest.raises(CheckovError, match="not its JSON report"):
        run_checkov([small_stack()], checks_dir=empty_checks)


def test_checkov_hanging_is_killed_at_the_timeout(fake_checkov, empty_checks):
    fake_checkov("sleep 30 &\nsleep 30\n")
    started = time.monotonic()
    with pytest.raises(CheckovError, match="timed out after 2 s"):
        run_checkov([small_stack()], checks_dir=empty_checks, timeout_s=2)
    assert time.monotonic() - started < 10


def test_checkov_logging_a_check_error(fake_checkov, empty_checks):
    emits(
        fake_checkov,
        [checkov_report("terraform_plan", [("CKV_AWS_21", "PASSED", FILE, ADDRESS)], 1)],
        stderr="2026-11-26 [MainThread  ] [ERROR]  Failed to run check CKV_MLOPS_999 on /x/tfplan.json:aws_s3_bucket.x",
    )
    with pytest.raises(CheckovError, match="logged errors.*\n.*Failed to run check CKV_MLOPS_999"):
        run_checkov([small_stack()], checks_dir=empty_checks)


def test_checkov_printing_a_traceback_without_an_error_line(fake_checkov, empty_checks):
    emits(
        fake_checkov,
        [checkov_report("terraform_plan", [("CKV_AWS_21", "PASSED", FILE, ADDRESS)], 1)],
        stderr="Traceback (most recent call last):\n  File x\nKeyError: 1",
    )
    with pytest.raises(CheckovError, match="logged errors"):
        run_checkov([small_stack()], checks_dir=empty_checks)


def test_fewer_resources_counted_than_sent(fake_checkov, empty_checks):
    emits(fake_checkov, [checkov_report("terraform_plan", [], 0)])
    with pytest.raises(CheckovError, match=r"fewer resources than were sent \(terraform_plan: 0 of 1\)"):
        run_checkov([small_stack()], checks_dir=empty_checks)


def test_missing_framework_report(fake_checkov, empty_checks):
    emits(fake_checkov, [checkov_report("kubernetes", [], 0)])
    with pytest.raises(CheckovError, match="fewer resources than were sent"):
        run_checkov([small_stack()], checks_dir=empty_checks)


def test_resource_without_results_while_its_type_has_them(fake_checkov, empty_checks):
    stack = small_stack()
    other = next(iter(stack.origins.values()))
    stack.files["tfplan.json"]["planned_values"]["root_module"]["resources"].append(
        {"address": "aws_s3_bucket.models", "mode": "managed", "type": "aws_s3_bucket", "name": "models", "values": {}}
    )
    stack.origins[("tfplan.json", "aws_s3_bucket.models")] = Origin(
        **{**other.__dict__, "urn": BUCKET_URN + "2", "name": "models"}
    )
    emits(fake_checkov, [checkov_report("terraform_plan", [("CKV_AWS_21", "PASSED", FILE, ADDRESS)], 2)])
    with pytest.raises(CheckovError, match=r"no result for:\n  aws_s3_bucket.models in /gate-test/tfplan.json"):
        run_checkov([stack], checks_dir=empty_checks)


def test_result_that_traces_to_no_pulumi_resource(fake_checkov, empty_checks):
    emits(fake_checkov, [checkov_report("terraform_plan", [("CKV_AWS_21", "FAILED", FILE, "aws_s3_bucket.ghost")], 1)])
    with pytest.raises(CheckovError, match="which no Pulumi resource was translated to"):
        run_checkov([small_stack()], checks_dir=empty_checks)


def test_parsing_errors(fake_checkov, empty_checks):
    report = checkov_report("terraform_plan", [("CKV_AWS_21", "PASSED", FILE, ADDRESS)], 1)
    report["results"]["parsing_errors"] = [FILE]
    emits(fake_checkov, [report])
    with pytest.raises(CheckovError, match="could not parse /gate-test/tfplan.json"):
        run_checkov([small_stack()], checks_dir=empty_checks)


def test_custom_checks_that_produce_nothing_were_not_loaded(fake_checkov, empty_checks):
    (empty_checks / "bucket_rule.py").write_text(
        "from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck\n"
        "class R(BaseResourceCheck):\n"
        "    def __init__(self):\n"
        "        super().__init__(name='n', id='CKV_MLOPS_900', categories=[], supported_resources=['aws_s3_*'])\n"
    )
    emits(fake_checkov, [checkov_report("terraform_plan", [("CKV_AWS_21", "PASSED", FILE, ADDRESS)], 1)])
    with pytest.raises(CheckovError, match=r"none of the custom checks \(CKV_MLOPS_900\) produced a result"):
        run_checkov([small_stack()], checks_dir=empty_checks)


def test_checks_folder_without_init_is_refused(fake_checkov, tmp_path):
    fake_checkov("exit 0\n")
    (tmp_path / "bare").mkdir()
    with pytest.raises(CheckovError, match="has no __init__.py"):
        run_checkov([small_stack()], checks_dir=tmp_path / "bare")


CANARY = "/gate~canary/k8s/canary.yaml"


def test_kubernetes_results_without_the_canary_mean_nothing_was_scanned(fake_checkov, empty_checks):
    """Checkov leaves a framework with no result out of its report: only the canary Pod's results prove that the
    manifests beside it were scanned (a Namespace alone gets no result)."""
    stack = small_stack()
    stack.files["k8s/0001-namespace-ml.yaml"] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml"}}
    stack.origins[("k8s/0001-namespace-ml.yaml", "Namespace.default.ml")] = next(iter(stack.origins.values()))
    emits(fake_checkov, [checkov_report("terraform_plan", [("CKV_AWS_21", "PASSED", FILE, ADDRESS)], 1)])
    with pytest.raises(CheckovError, match="canary Pod"):
        run_checkov([stack], checks_dir=empty_checks)
    emits(
        fake_checkov,
        [
            checkov_report("terraform_plan", [("CKV_AWS_21", "PASSED", FILE, ADDRESS)], 1),
            checkov_report("kubernetes", [("CKV_K8S_16", "FAILED", CANARY, "Pod.gate-canary.gate-canary")], 2),
        ],
    )
    run = run_checkov([stack], checks_dir=empty_checks)
    assert all(not r.scanned_path.startswith("/gate~canary/") for r in run.results)


def test_pod_template_results_trace_to_their_workload(fake_checkov, empty_checks):
    stack = small_stack()
    origin = next(iter(stack.origins.values()))
    workload = Origin(
        **{**origin.__dict__, "urn": "urn:pulumi:gate-test::mlops::kubernetes:apps/v1:Deployment::web", "name": "web"}
    )
    sibling = Origin(
        **{**origin.__dict__, "urn": "urn:pulumi:gate-test::mlops::kubernetes:apps/v1:Deployment::web2", "name": "web2"}
    )
    stack.files["k8s/0001-deployment-web.yaml"] = [{"kind": "Deployment"}, {"kind": "Deployment"}]
    stack.origins[("k8s/0001-deployment-web.yaml", "Deployment.ml.web")] = workload
    stack.origins[("k8s/0001-deployment-web.yaml", "Deployment.ml.web2")] = sibling
    k8s = f"/{STACK}/k8s/0001-deployment-web.yaml"
    emits(
        fake_checkov,
        [
            checkov_report("terraform_plan", [("CKV_AWS_21", "PASSED", FILE, ADDRESS)], 1),
            checkov_report(
                "kubernetes",
                [
                    ("CKV_K8S_20", "FAILED", k8s, "Pod.ml.web2.app-web2"),
                    ("CKV_K8S_20", "PASSED", k8s, "Deployment.ml.web"),
                    ("CKV_K8S_20", "PASSED", k8s, "Deployment.ml.web2"),
                    ("CKV_K8S_16", "FAILED", CANARY, "Pod.gate-canary.gate-canary"),
                ],
                5,
            ),
        ],
    )
    pod = next(r for r in run_checkov([stack], checks_dir=empty_checks).results if r.resource_id.startswith("Pod"))
    assert pod.origin.name == "web2"


def test_yaml_custom_policies_are_refused_because_they_disable_built_in_graph_checks(fake_checkov, empty_checks):
    fake_checkov("exit 0\n")
    (empty_checks / "s3_policy.yaml").write_text("metadata: {id: CKV2_MLOPS_1}\n")
    with pytest.raises(CheckovError, match="silently disables Checkov's built-in graph checks"):
        run_checkov([small_stack()], checks_dir=empty_checks)


def test_checkov_runs_offline_over_all_three_frameworks_with_the_custom_checks(
    fake_checkov, empty_checks, tmp_path, monkeypatch
):
    monkeypatch.setenv("BC_API_KEY", "must-not-leak")
    seen = tmp_path / "seen"
    emits(fake_checkov, [checkov_report("terraform_plan", [("CKV_AWS_21", "PASSED", FILE, ADDRESS)], 1)])
    script = checkov_executable()
    script.write_text(
        script.read_text().replace(
            "#!/bin/sh\n", f'#!/bin/sh\necho "$@" > "{seen}.args"\nenv > "{seen}.env"\npwd > "{seen}.cwd"\n', 1
        )
    )
    run_checkov([small_stack()], checks_dir=empty_checks)
    args, env = (tmp_path / "seen.args").read_text(), (tmp_path / "seen.env").read_text().splitlines()
    assert "--framework terraform_plan arm kubernetes" in args and f"--external-checks-dir {empty_checks}" in args
    assert "--output json" in args and "--directory ." in args
    assert "BC_SKIP_MAPPING=TRUE" in env and not any(line.startswith("BC_API_KEY=") for line in env)
    root = (tmp_path / "seen.cwd").read_text().strip()
    assert f"MLOPS_GATE_ROOT={root}" in env and not Path(root).exists()  # the scan root is removed afterwards

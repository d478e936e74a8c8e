"""Offline preview faults seen on public programs: hangs, crashes and silent exits, each with a program of its own
(tests/policies/preview/programs/<name>/)."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.cli import app
from policies import inputs
from policies.preview.runner import PreviewError, _describe_failure, load_project, preview, preview_timeout

PROGRAMS = Path(__file__).resolve().parent / "programs"
cli = CliRunner()


def run(name: str, stack: str = "dev", **kwargs: object):
    return preview(PROGRAMS / name, stack, **kwargs)  # type: ignore[arg-type]


def by_name(result) -> dict:
    return {r.name: r for r in result.resources}


# 1. a cause/context cycle must not hang the failure message
def test_failure_description_survives_a_cause_cycle() -> None:
    exc = NotImplementedError("the offline preview has no answer for the provider call 'aws:ec2/getAmi:getAmi'")
    exc.__context__ = exc
    wrapper = RuntimeError("invoke failed")
    wrapper.__cause__ = exc
    exc.__cause__ = wrapper
    project = load_project(PROGRAMS / "unmocked_invoke")
    found: list[str] = []
    worker = threading.Thread(target=lambda: found.append(_describe_failure(wrapper, project, "dev")), daemon=True)
    worker.start()
    worker.join(5)
    assert found, "_describe_failure looped over the exception chain"
    assert "no answer for the provider call 'aws:ec2/getAmi:getAmi'" in found[0]


def test_unmocked_invoke_fails_with_the_token_named() -> None:
    with pytest.raises(PreviewError, match="no answer for the provider call 'aws:ec2/getInstance:getInstance'"):
        run("unmocked_invoke", timeout=60)


# 2. common invokes answered like the providers
def test_common_invokes_are_answered() -> None:
    result = run("invokes", timeout=60)
    out = result.outputs
    assert out["ami"].startswith("ami-") and out["vpc"].startswith("vpc-") and out["sg"].startswith("sg-")
    assert len(out["subnets"]) == 3 and all(s.startswith("subnet-") for s in out["subnets"])
    assert out["account_id"] == "123456789012" and out["partition"] == "aws"
    assert out["region"] == "eu-west-1" and out["zones"] == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert out["policy"] == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Assume",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": "lambda.amazonaws.com"},
            },
            {
                "Effect": "Deny",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }
    assert out["tenant"] and out["rg_location"] == "westeurope" and out["ip"].count(".") == 3
    assert out["key_count"] == 2
    assert set(out["endpoints"]) == {"blob", "dfs", "file", "queue", "table", "web"}
    resources = by_name(result)
    assert resources["web"].inputs["ami"] == out["ami"]
    assert json.loads(resources["role"].inputs["assumeRolePolicy"]) == out["policy"]
    assert result.unknown_inputs == []


# 3. a resource passed as an input
def test_resource_passed_as_an_input_is_recorded_as_its_id() -> None:
    result = run("resource_input", timeout=60)
    resources = by_name(result)
    role = resources["lambda-role"]
    assert (
        resources["fn"].inputs["role"] == role.outputs["id"] if "id" in role.outputs else resources["fn"].inputs["role"]
    )
    assert resources["fn"].inputs["role"].startswith("lambda-role-")
    assert resources["bucket"].inputs["tags"]["owner"] == resources["fn"].inputs["role"]
    assert resources["bucket"].inputs["tags"]["group"] == resources["group"].urn, "a component is referred to by URN"
    assert resources["fn"].inputs["code"] == {
        "assetArchive": {"index.py": {"stringAsset": "def handler(e, c): return 1"}}
    }


# 4. provider config modules, sub-modules and enums under the shallow SDK packages; 9. stack config
def test_provider_config_modules_enums_and_defaults() -> None:
    result = run("provider_config", timeout=60)
    assert result.outputs["aws_region"] == "eu-west-1"
    assert result.outputs["azure_location"] == "westeurope"
    assert result.outputs["enum"] == "Static" and result.outputs["submodule"] == "Component"
    assert result.outputs["token_is_secret"] == "[secret]"
    assert result.provider_defaults == {
        "aws": {"region": "eu-west-1", "defaultTags": {"tags": {"team": "ml"}}},
        "azure-native": {"location": "westeurope"},
        "kubernetes": {"context": "kind-preview"},
    }
    assert by_name(result)["pip"].inputs["publicIPAllocationMethod"] == "Static"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "import pulumi_azure_native.insights",
            "No module named 'pulumi_azure_native.insights'; pulumi-azure-native 3.",
        ),
        (
            "from pulumi_azure_native import network\nnetwork.IpAllocationMethod",
            "has no attribute 'IpAllocationMethod'; pulumi-azure-native 3.",
        ),
    ],
)
def test_names_the_installed_sdk_lacks_fail_clearly(tmp_path: Path, body: str, expected: str) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: old\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    (tmp_path / "__main__.py").write_text(body + "\n")
    with pytest.raises(PreviewError) as raised:
        preview(tmp_path, "dev", timeout=60)
    assert expected in str(raised.value) and "another major version" in str(raised.value)


def test_nested_secure_config_is_a_secret_placeholder() -> None:
    from policies.preview.runner import load_stack_config

    config, secret_keys = load_stack_config(load_project(PROGRAMS / "provider_config"), "dev")
    assert "provider_config:nested" in secret_keys and "provider_config:token" in secret_keys
    assert json.loads(config["provider_config:nested"])["password"].startswith("[secret")
    assert "v1:" not in config["provider_config:nested"]


# 5. the program's own directory as working directory; 6. archives and remote assets as JSON
def test_program_runs_in_its_directory_and_records_archives(tmp_path: Path) -> None:
    cwd = os.getcwd()
    out = tmp_path / "p.json"
    result = cli.invoke(
        app, ["preview", "--program", str(PROGRAMS / "relative_paths"), "--json", str(out), "--no-tree"]
    )
    assert result.exit_code == 0, result.output
    assert os.getcwd() == cwd
    doc = json.loads(out.read_text())
    assert doc["outputs"]["cwd"] == str(PROGRAMS / "relative_paths")
    resources = {r["name"]: r for r in doc["resources"]}
    assert resources["index.html"]["inputs"]["source"] == {"fileAsset": "./www/index.html"}
    assert resources["fn"]["inputs"]["code"] == {
        "assetArchive": {
            "index.py": {"stringAsset": "def handler(e, c): return 1"},
            "www": {"fileArchive": "./www"},
            "lib": {"assetArchive": {"remote.txt": {"remoteAsset": "https://example.com/remote.txt"}}},
        }
    }
    assert resources["layer"]["inputs"]["code"] == {"remoteArchive": "https://example.com/layer.zip"}


# 7. sys.exit and friends become errors
@pytest.mark.parametrize(
    ("stack", "what"), [("top", "sys.exit(0)"), ("apply", "sys.exit(0)"), ("interrupt", "KeyboardInterrupt")]
)
def test_program_exit_is_an_error(stack: str, what: str) -> None:
    result = cli.invoke(app, ["preview", "--program", str(PROGRAMS / "exits"), "--stack", stack])
    assert result.exit_code == 2, result.output
    assert f"stack {stack}: the program exited ({what})" in result.output.replace("\n", " ")
    assert "Traceback" not in result.output


def test_program_exit_through_the_gate_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("threading.active_count", lambda: 1)
    with pytest.raises(inputs.InputError, match=r"stack apply: the program exited \(sys.exit\(0\)\)"):
        inputs.from_program(PROGRAMS / "exits", ["apply", "top"], preview_timeout=60)
    with pytest.raises(inputs.InputError, match=r"the program exited \(sys.exit\(0\)\)"):
        inputs.from_program(PROGRAMS / "exits", ["top"], preview_timeout=60)


def _exits(name: str):
    raise SystemExit(0)


@pytest.mark.parametrize("threads", [1, 2])
def test_exit_in_a_gate_preview_is_a_preview_error(monkeypatch: pytest.MonkeyPatch, threads: int) -> None:
    """In parallel children (one thread here) and in-process (threads running): never a silent exit 0."""
    monkeypatch.setattr("threading.active_count", lambda: threads)
    with pytest.raises(PreviewError, match=r"stack a: the program exited \(sys.exit\(0\)\)"):
        inputs._previews(_exits, ["a", "b"], timeout=30)


# 8. a time limit
def test_looping_program_is_stopped_at_the_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    started = time.monotonic()
    result = cli.invoke(app, ["preview", "--program", str(PROGRAMS / "loops"), "--preview-timeout", "2"])
    assert result.exit_code == 2, result.output
    assert "stack dev: the program did not finish within 2 s" in result.output.replace("\n", " ")
    monkeypatch.setenv("MLOPS_PREVIEW_TIMEOUT", "1.5")
    with pytest.raises(inputs.InputError, match="did not finish within 1.5 s"):
        inputs.from_program(PROGRAMS / "loops", [])
    assert time.monotonic() - started < 30


def test_looping_program_in_parallel_previews(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("threading.active_count", lambda: 1)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    with pytest.raises(PreviewError, match="stack dev: the program did not finish within 2 s"):
        inputs._previews(lambda name: preview(PROGRAMS / "loops", name), ["dev", "dev"], timeout=2)  # type: ignore[arg-type]


def test_preview_timeout_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_PREVIEW_TIMEOUT", raising=False)
    assert preview_timeout() == 120
    assert preview_timeout(5) == 5 and preview_timeout(0) is None
    monkeypatch.setenv("MLOPS_PREVIEW_TIMEOUT", "7")
    assert preview_timeout() == 7
    monkeypatch.setenv("MLOPS_PREVIEW_TIMEOUT", "soon")
    with pytest.raises(PreviewError, match="MLOPS_PREVIEW_TIMEOUT='soon'"):
        preview_timeout()


# 9. stack references
def test_stack_reference_outputs_come_from_the_stack_config() -> None:
    result = run("stack_reference", "given", timeout=60)
    assert by_name(result)["sg"].inputs["vpcId"] == "vpc-0abc"
    assert result.outputs["subnets"] == ["subnet-1", "subnet-2"]


def test_stack_reference_without_outputs_fails_clearly() -> None:
    with pytest.raises(PreviewError, match="stack missing: the program reads the outputs of stack 'acme/network/prod'"):
        run("stack_reference", "missing", timeout=60)


# 10. deep apply chains, Output.all and invokes in output form
def test_apply_chains_and_output_all_finish() -> None:
    result = run("apply_chains", timeout=60)
    arn = result.outputs["chain"]
    assert arn.startswith("arn:aws:s3:::data-")
    resources = by_name(result)
    joined = "-".join(resources[f"s{i}"].outputs["result"] for i in range(20))
    assert result.outputs["nested"] == f"{arn}|{len(joined)}|3"
    policy = json.loads(resources["read"].inputs["policy"])
    assert policy["Statement"][0]["Resource"] == f"{arn}/*"
    assert result.unknown_inputs == []


def test_an_unknown_name_and_a_random_id_preview(tmp_path: Path) -> None:
    """A resource named from an output the preview cannot know (a queue's url, which the mock does not give) once
    crashed the mock monitor ('bad argument type for built-in operation'); a RandomId's hex was unknown too."""
    (tmp_path / "Pulumi.yaml").write_text("name: unknown-name\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  aws:region: me-central-1\n")
    (tmp_path / "__main__.py").write_text(
        "import pulumi_aws as aws, pulumi_random as random\n"
        "suffix = random.RandomId('suffix', byte_length=4)\n"
        "first = aws.sqs.Queue('q', name=suffix.hex.apply(lambda h: f'q-{h}'))\n"
        "aws.sqs.Queue('r', name=first.url.apply(lambda u: f'r-{u}'))\n"
    )
    result = preview(tmp_path, "dev")
    by_name = {r.name: r for r in result.resources}
    assert by_name["q"].inputs["name"] == f"q-{by_name['suffix'].outputs['hex']}"
    assert len(by_name["suffix"].outputs["hex"]) == 8
    assert "r" in by_name and any(u.urn == by_name["r"].urn for u in result.unknown_inputs)

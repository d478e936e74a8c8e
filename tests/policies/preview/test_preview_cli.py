"""`mlops preview`: offline runs of any Pulumi Python program, clear failures, JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.cli import app

runner = CliRunner()

PROGRAM = """
import pulumi
import pulumi_aws.ec2 as ec2
import pulumi_aws.s3 as s3
import pulumi_kubernetes as k8s

cfg = pulumi.Config()

class Storage(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("demo:index:Storage", name, None, opts)
        self.bucket = s3.Bucket(f"{name}-bucket", tags={"owner": "me"}, opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"bucket": self.bucket.bucket})

store = Storage("store")
vpc = ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
subnet = ec2.Subnet("subnet", vpc_id=vpc.id, cidr_block="10.0.1.0/24")
k8s.apps.v1.Deployment("web", spec={"replicas": cfg.require_int("replicas"),
    "selector": {"match_labels": {"app": "web"}},
    "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}})
k8s.core.v1.Secret("creds", string_data={"password": cfg.require_secret("password")})
pulumi.export("bucket", store.bucket.bucket)
"""


def write_program(root: Path, body: str = PROGRAM, stacks: dict[str, dict] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "Pulumi.yaml").write_text("name: demo\nruntime:\n  name: python\n")
    (root / "__main__.py").write_text(body)
    for stack, config in (
        stacks if stacks is not None else {"dev": {"demo:replicas": 2, "demo:password": {"secure": "v1:x"}}}
    ).items():
        (root / f"Pulumi.{stack}.yaml").write_text(json.dumps({"config": config}))
    return root


def test_program_preview_prints_tree_and_counts(tmp_path: Path) -> None:
    program = write_program(tmp_path / "prog")
    result = runner.invoke(app, ["preview", "--program", str(program), "--stack", "dev"])
    assert result.exit_code == 0, result.output
    assert "demo/dev" in result.output
    assert "demo:index:Storage" in result.output and "store-bucket" in result.output
    assert "aws:s3/bucket:Bucket" in result.output
    assert "kubernetes:apps/v1:Deployment" in result.output


def test_program_preview_json_has_every_resource_with_resolved_inputs(tmp_path: Path) -> None:
    program = write_program(tmp_path / "prog")
    out = tmp_path / "out" / "preview.json"
    result = runner.invoke(app, ["preview", "--program", str(program), "--json", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    by_name = {r["name"]: r for r in doc["resources"]}
    bucket = by_name["store-bucket"]
    assert bucket["type"] == "aws:s3/bucket:Bucket"
    assert bucket["parent"] == by_name["store"]["urn"], "the component is the bucket's parent"
    assert by_name["store"]["custom"] is False
    assert by_name["web"]["inputs"]["spec"]["replicas"] == 2 and isinstance(
        by_name["web"]["inputs"]["spec"]["replicas"], int
    )
    subnet = by_name["subnet"]
    assert subnet["inputs"]["vpcId"].startswith("vpc-"), "dependent inputs resolve from realistic mock outputs"
    assert subnet["propertyDependencies" if "propertyDependencies" in subnet else "property_dependencies"]["vpcId"] == [
        by_name["vpc"]["urn"]
    ]
    assert by_name["creds"]["inputs"]["stringData"] == "[secret]", "secrets never appear in plaintext"
    assert doc["outputs"]["bucket"] == bucket["outputs"]["bucket"]
    assert doc["unknownInputs"] == []
    assert doc["counts"]["aws:s3/bucket:Bucket"] == 1


def test_single_stack_program_needs_no_stack_flag(tmp_path: Path) -> None:
    program = write_program(tmp_path / "prog")
    assert runner.invoke(app, ["preview", "--program", str(program), "--no-tree"]).exit_code == 0


def test_input_resolving_to_unknown_is_reported(tmp_path: Path) -> None:
    body = """
import pulumi_aws.ec2 as ec2
vpc = ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
ec2.Route("r", route_table_id=vpc.default_route_table_id, destination_cidr_block="0.0.0.0/0", gateway_id="igw-1")
"""
    program = write_program(tmp_path / "prog", body, {"dev": {}})
    out = tmp_path / "p.json"
    result = runner.invoke(app, ["preview", "--program", str(program), "--json", str(out)])
    assert "unknown input" in result.output and "routeTableId" in result.output
    unknown = json.loads(out.read_text())["unknownInputs"]
    assert [u["input"] for u in unknown] == ["routeTableId"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "raise ValueError('bucket name too long')",
            "the program failed: ValueError: bucket name too long (at __main__.py:1)",
        ),
        ("import pulumi\nraise pulumi.RunError('config is wrong')", "config is wrong"),
        ("import pulumi\npulumi.Config().require('missing')", "Missing required configuration variable 'demo:missing'"),
    ],
)
def test_failing_program_exits_non_zero_with_message_and_no_tree(tmp_path: Path, body: str, expected: str) -> None:
    program = write_program(tmp_path / "prog", body, {"dev": {}})
    result = runner.invoke(app, ["preview", "--program", str(program)])
    assert result.exit_code == 2
    assert expected in result.output.replace("\n", " ") or expected in result.output
    assert "Traceback" not in result.output
    assert "resources" not in result.output


def test_unknown_stack_lists_the_stacks(tmp_path: Path) -> None:
    program = write_program(tmp_path / "prog")
    result = runner.invoke(app, ["preview", "--program", str(program), "--stack", "prod"])
    assert result.exit_code == 2
    assert "unknown stack 'prod'" in result.output and "stacks here: dev" in result.output


def test_unknown_project_stack_is_refused() -> None:
    result = runner.invoke(app, ["preview", "--stack", "gcp-prod"])
    assert result.exit_code == 2
    assert "unknown stack 'gcp-prod'" in result.output and "aws-uae-prod" in result.output


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, "no Pulumi.yaml here"),
        ({"Pulumi.yaml": "name: x\nruntime: nodejs\n"}, "runs Python programs only"),
        ({"Pulumi.yaml": "name: [\n"}, "not valid YAML"),
        ({"Pulumi.yaml": "name: x\nruntime: python\nmain: src/\n"}, "main program"),
    ],
)
def test_bad_program_directory(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = runner.invoke(app, ["preview", "--program", str(tmp_path), "--stack", "dev"])
    assert result.exit_code == 2 and expected in result.output


def test_preview_without_stack_is_refused() -> None:
    result = runner.invoke(app, ["preview"])
    assert result.exit_code == 2 and "--stack" in result.output


def test_component_input_error_is_shown_like_a_config_error(tmp_path: Path) -> None:
    """A component refusing its Args (components.errors.InputError) reads like a stack ConfigError: the message as
    is (it names the field and what is allowed), exit 2, no exception type, no traceback, no tree."""
    message = "KueueArgs.teams: at least one team namespace must submit to the training queue"
    body = f"from components.errors import InputError\nraise InputError({message!r})"
    program = write_program(tmp_path / "prog", body, {"dev": {}})
    result = runner.invoke(app, ["preview", "--program", str(program)])
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert message in output
    assert "the program failed" not in output and "InputError" not in output and "(at " not in output
    assert "Traceback" not in result.output and "resources" not in result.output

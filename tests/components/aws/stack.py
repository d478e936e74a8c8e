"""Run the AWS target of a project stack under the recording mocks, config read the way `pulumi up` reads it."""

from __future__ import annotations

import json
from typing import Any

import yaml

from infra.config import StackConfig
from infra.targets import TargetCluster
from policies.preview.model import PreviewResource, PreviewResult
from policies.preview.runner import REPO_ROOT, load_project, load_stack_config, run_under_mocks

AWS_STACK = "aws-uae-prod"


def preview_aws_target(
    stack: str = AWS_STACK, overrides: dict[str, Any] | None = None
) -> tuple[PreviewResult, TargetCluster]:
    """Preview ``infra.targets.aws.build`` for a stack file; ``overrides`` replaces ``mlops:`` keys first."""
    from infra.config import load_from_pulumi
    from infra.targets import aws

    project = load_project(REPO_ROOT)
    config, secret_keys = load_stack_config(project, stack)
    for key, value in (overrides or {}).items():
        config[f"mlops:{key}"] = value if isinstance(value, str) else json.dumps(value)
    built: list[TargetCluster] = []
    result = run_under_mocks(
        lambda: built.append(aws.build(load_from_pulumi())),
        project=project.name,
        stack=stack,
        config=config,
        secret_keys=secret_keys,
        region="me-central-1",
    )
    return result, built[0]


def stack_config(stack: str = AWS_STACK, overrides: dict[str, Any] | None = None) -> StackConfig:
    """A stack file's validated config, read without the Pulumi runtime (``overrides`` replaces ``mlops:`` keys)."""
    from infra.config import validate

    path = REPO_ROOT / "stacks" / f"Pulumi.{stack}.yaml"
    raw = {
        k.split(":", 1)[1]: v for k, v in yaml.safe_load(path.read_text())["config"].items() if k.startswith("mlops:")
    }
    return validate({**raw, **(overrides or {})}, str(path.relative_to(REPO_ROOT)))


def child_of(result: PreviewResult, resource: PreviewResource, type_token: str) -> PreviewResource:
    """The one resource of ``type_token`` whose parent is ``resource``'s parent component."""
    found = [r for r in result.resources if r.type == type_token and r.parent == resource.parent]
    assert len(found) == 1, f"expected one {type_token} next to {resource.name}, found {[r.name for r in found]}"
    return found[0]


def policy_doc(resource: PreviewResource) -> dict[str, Any]:
    return json.loads(resource.inputs["policy"])

"""The organisation residency policy (policies/residency.yaml): the one source of allowed regions, which a stack
may narrow but never widen, in the stack config and in the policy gate's context."""

from __future__ import annotations

import copy
import importlib.util
import sys

import pytest

from infra import config as config_module
from infra.config import RESIDENCY_POLICY, ConfigError, organisation_regions
from policies.organisation import TARGETS, load_residency_policy
from policies.preview.model import PreviewResource, PreviewResult
from policies.translate import stack_context
from tests.infra.config.test_stack_config import load, refused, stack_doc


def test_policy_file_lists_every_target():
    policy = load_residency_policy()
    assert set(policy) == set(TARGETS)
    assert policy["aws"] == ("me-central-1",) and policy["azure"] == ("uaenorth",)
    assert RESIDENCY_POLICY.read_text().startswith("#"), "the policy file explains itself in a comment"
    assert config_module.DEFAULT_ALLOWED_REGIONS == policy  # the old name reads the policy file


def test_checks_fallback_constants_equal_the_policy_file(monkeypatch):
    spec = importlib.util.spec_from_file_location(
        "_mlops_context", RESIDENCY_POLICY.parent / "checks" / "_mlops_context.py"
    )
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "_mlops_context", module)  # its dataclasses resolve through sys.modules
    spec.loader.exec_module(module)
    policy = load_residency_policy()
    for cloud, regions in module.DEFAULT_ALLOWED_REGIONS.items():
        assert tuple(regions) == policy[cloud], cloud
    assert {"aws", "azure"} <= set(module.DEFAULT_ALLOWED_REGIONS)


def test_a_stack_cannot_widen_the_organisation_list():
    doc = copy.deepcopy(stack_doc("aws-uae-prod"))
    doc["config"]["mlops:region"] = "eu-west-1"
    doc["config"]["mlops:residency"] = {"allowedRegions": ["eu-west-1"]}
    message = refused(doc)
    assert "stacks/Pulumi.teststack.yaml" in message
    assert "mlops:residency.allowedRegions" in message
    assert "'eu-west-1'" in message and "me-central-1" in message


def test_a_stack_may_narrow_the_organisation_list():
    doc = copy.deepcopy(stack_doc("onprem-dc1"))
    doc["config"]["mlops:residency"] = {"allowedRegions": ["dc1-abudhabi"]}
    assert load(doc).allowed_regions == ("dc1-abudhabi",)
    doc = copy.deepcopy(stack_doc("aws-uae-prod"))
    doc["config"].pop("mlops:residency", None)
    assert load(doc).allowed_regions == organisation_regions()["aws"]


@pytest.mark.parametrize(
    "text, expected",
    [
        (None, "cannot be read"),
        ("allowedRegions: [\n", "not valid YAML"),
        ("regions: {aws: [me-central-1]}\n", "needs a mapping allowedRegions"),
        ("allowedRegions: {aws: [me-central-1], azure: uaenorth, onprem: []}\n", "allowedRegions.azure = 'uaenorth'"),
        ("allowedRegions: {aws: [me-central-1], azure: [uaenorth]}\n", "allowedRegions.onprem = None"),
        ("allowedRegions: {aws: [a], azure: [b], onprem: [], gcp: [c]}\n", "unknown target(s) gcp"),
    ],
)
def test_missing_or_malformed_policy_is_a_clear_error(tmp_path, text, expected):
    path = tmp_path / "residency.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_residency_policy(path)
    assert str(path) in str(info.value) and expected in str(info.value)


def _result(context: dict) -> PreviewResult:
    bucket = PreviewResource(urn="urn:pulumi:t::p::aws:s3/bucket:Bucket::b", type="aws:s3/bucket:Bucket", name="b")
    return PreviewResult(project="p", stack="t", source="t", resources=[bucket], context=context)


def test_gate_context_is_the_intersection_with_the_policy():
    widened = stack_context(_result({"target": "aws", "region": "eu-west-1", "allowed_regions": ["eu-west-1"]}))
    assert widened["allowed_regions"] == []
    narrowed = stack_context(_result({"target": "onprem", "allowed_regions": ["dc2-dubai", "elsewhere"]}))
    assert narrowed["allowed_regions"] == ["dc2-dubai"]
    assert stack_context(_result({"target": "azure"}))["allowed_regions"] == ["uaenorth"]

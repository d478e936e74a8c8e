"""Every stack-config rule: bad config is refused before any resource, with file, key path, value and what is allowed."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from infra.config import ConfigError, StackConfig, load_from_pulumi
from policies.preview.runner import REPO_ROOT, PreviewError, load_project, load_stack_config, preview
from tests.conftest import run_mocked

STACKS = ["aws-uae-prod", "azure-uae-prod", "onprem-dc1"]


def stack_doc(name: str) -> dict:
    return yaml.safe_load((REPO_ROOT / "stacks" / f"Pulumi.{name}.yaml").read_text())


def load(doc: dict, stack: str = "teststack") -> StackConfig:
    """Validate a stack document through the same path `pulumi up` uses (Pulumi config -> load_from_pulumi)."""
    config, secrets = {}, []
    for key, value in doc["config"].items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            secrets.append(key)
            config[key] = "[secret]"
        else:
            config[key] = value if isinstance(value, str) else json.dumps(value)
    captured: list[StackConfig] = []
    run_mocked(lambda: captured.append(load_from_pulumi()), stack=stack, config=config, secret_keys=secrets)
    return captured[0]


def refused(doc: dict) -> str:
    with pytest.raises(ConfigError) as info:
        load(doc)
    return str(info.value)


@pytest.mark.parametrize("name", STACKS)
def test_shipped_stacks_are_valid(name: str) -> None:
    cfg = load(stack_doc(name), stack=name)
    assert cfg.region in cfg.allowed_regions
    assert cfg.gpu_pools, "every shipped stack has GPU pools"
    assert cfg.gpus_per_node == max(p.gpu_count for p in cfg.gpu_pools)
    assert cfg.release.require_human_approval, "production stacks admit only signed-off model versions"
    assert any(p.role == "system" for p in cfg.node_pools)


def test_stack_file_secrets_are_pulumi_secrets() -> None:
    for name in STACKS:
        config = stack_doc(name)["config"]
        for key in ("mlops:kubeconfig", "mlops:nodeSshPrivateKey", "mlops:clusterJoinToken"):
            if key in config:
                assert set(config[key]) == {"secure"}, f"{name}: {key} must be a secure value"


def test_plaintext_secret_is_refused() -> None:
    doc = stack_doc("onprem-dc1")
    doc["config"]["mlops:kubeconfig"] = "apiVersion: v1\nclusters: []"
    message = refused(doc)
    assert "stacks/Pulumi.teststack.yaml" in message
    assert "mlops:kubeconfig must be a Pulumi secret" in message
    assert "pulumi config set --secret kubeconfig" in message
    assert "clusters" not in message, "the plaintext value must not be echoed"


@pytest.mark.parametrize(
    ("stack", "key", "region", "allowed"),
    [
        ("aws-uae-prod", "mlops:region", "eu-west-1", "me-central-1"),
        ("azure-uae-prod", "mlops:region", "westeurope", "uaenorth"),
        ("onprem-dc1", "mlops:region", "dc9-frankfurt", "dc1-abudhabi, dc2-dubai"),
    ],
)
def test_data_residency_refuses_region_outside_allowed_list(stack: str, key: str, region: str, allowed: str) -> None:
    doc = stack_doc(stack)
    doc["config"][key] = region
    message = refused(doc)
    assert f"mlops:region = '{region}'" in message
    assert "data-residency" in message
    assert allowed in message
    assert "No resource was created" in message


def test_residency_refused_before_any_resource(tmp_path: Path) -> None:
    project_dir = tmp_project(tmp_path, "aws-uae-prod", lambda c: c.__setitem__("mlops:region", "us-east-1"))
    with pytest.raises(PreviewError, match="data-residency"):
        preview(project_dir, "aws-uae-prod")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda c: c.pop("mlops:identity"), "required key mlops:identity is missing"),
        (lambda c: c.pop("mlops:target"), "required key mlops:target is missing"),
        (
            lambda c: c.__setitem__("mlops:target", "gcp"),
            "mlops:target = 'gcp': Input should be 'aws', 'azure' or 'onprem'",
        ),
        (lambda c: c.__setitem__("mlops:regoin", "me-central-1"), "unknown key mlops:regoin"),
        (lambda c: c["mlops:nodePools"][2].pop("gpuModel"), "mlops:nodePools[2]: gpuModel is required for a GPU pool"),
        (
            lambda c: c["mlops:identity"]["oidc"].__setitem__("issuerUrl", "http://sso.example"),
            "mlops:identity.oidc.issuerUrl = 'http://sso.example'",
        ),
        (lambda c: c["mlops:identity"].pop("oidc"), "mlops:identity.oidc"),
        (lambda c: c["mlops:nodePools"][2].__setitem__("gpuCount", "eight"), "mlops:nodePools[2].gpuCount = 'eight'"),
        (
            lambda c: c["mlops:nodePools"][2].__setitem__("gpuCount", 32),
            "mlops:nodePools[2].gpuCount = 32: Input should be less than or equal to 16",
        ),
        (lambda c: c["mlops:nodePools"][1].__setitem__("minSize", 30), "minSize (30) is larger than maxSize (20)"),
        (
            lambda c: c["mlops:nodePools"][1].__setitem__("desiredSize", 50),
            "desiredSize (50) must lie between minSize and maxSize",
        ),
        (
            lambda c: c["mlops:nodePools"][1].__setitem__("capacity", "reserved"),
            "mlops:nodePools[1].capacity = 'reserved': Input should be 'on-demand' or 'spot'",
        ),
        (
            lambda c: c["mlops:nodePools"][1].__setitem__("name", "CPU_Batch"),
            "mlops:nodePools[1].name = 'CPU_Batch': must be a lowercase DNS label",
        ),
        (
            lambda c: c["mlops:nodePools"][1].__setitem__("gpuCount", 2),
            "gpuModel/gpuCount are only allowed on a GPU pool",
        ),
        (
            lambda c: c["mlops:nodePools"][2].pop("instanceType"),
            "node pool 'gpu-a10g': instanceType is required for target aws",
        ),
        (
            lambda c: c["mlops:nodePools"][1].__setitem__("name", "system"),
            "node pool names must be unique; repeated: system",
        ),
        (lambda c: c["mlops:nodePools"][0].__setitem__("role", "workload"), "one node pool must have role: system"),
        (lambda c: c["mlops:nodePools"][2].__setitem__("role", "system"), "a GPU pool cannot be the system pool"),
        (lambda c: c.__setitem__("mlops:nodePools", []), "mlops:nodePools: List should have at least 1 item"),
        (lambda c: c["mlops:tags"].pop("cost-center"), "mlops:tags: missing required tag(s) cost-center"),
        (
            lambda c: c["mlops:tags"].__setitem__("data-classification", "secret"),
            "data-classification 'secret' is not one of public, internal, confidential, restricted",
        ),
        (
            lambda c: c["mlops:network"].__setitem__("cidr", "10.40.0.0/33"),
            "mlops:network.cidr = '10.40.0.0/33': not an IPv4 CIDR block",
        ),
        (
            lambda c: c["mlops:network"].__setitem__("privateSubnets", ["10.40.0.0/19"]),
            "mlops:network.privateSubnets: List should have at least 2 items",
        ),
        (
            lambda c: c["mlops:network"].__setitem__("privateSubnets", ["10.40.0.0/19", "10.99.0.0/19"]),
            "private subnet 10.99.0.0/19 is not inside network cidr 10.40.0.0/16",
        ),
        (
            lambda c: c["mlops:network"].__setitem__("privateSubnets", ["10.40.0.0/19", "10.40.16.0/20"]),
            "private subnets 10.40.0.0/19 and 10.40.16.0/20 overlap",
        ),
        (lambda c: c.pop("mlops:network"), "network is required for target aws"),
        (
            lambda c: c["mlops:buckets"][0].__setitem__("name", "Data Sets"),
            "mlops:buckets[0].name = 'Data Sets': must be a lowercase DNS label",
        ),
        (
            lambda c: c["mlops:identity"].__setitem__("mlEngineer", []),
            "mlops:identity.mlEngineer: List should have at least 1 item",
        ),
        (
            lambda c: c["mlops:nodePools"][0].__setitem__("nodes", [{"name": "x"}]),
            "node pool 'system': nodes are only for target onprem",
        ),
    ],
)
def test_bad_aws_config_is_refused_with_key_path_value_and_allowed(mutate, expected: str) -> None:
    doc = copy.deepcopy(stack_doc("aws-uae-prod"))
    mutate(doc["config"])
    message = refused(doc)
    assert "stacks/Pulumi.teststack.yaml" in message
    assert expected in message
    assert "Traceback" not in message


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda c: c.pop("mlops:kubeconfig"), "kubeconfig (a Pulumi secret) is required for target onprem"),
        (
            lambda c: c["mlops:nodePools"][1].__setitem__("nodes", []),
            "node pool 'gpu-a100': list its servers under nodes",
        ),
        (
            lambda c: c["mlops:residency"].__setitem__("allowedRegions", ["dc2-dubai"]),
            "allowed for target onprem: dc2-dubai",
        ),
    ],
)
def test_bad_onprem_config_is_refused(mutate, expected: str) -> None:
    doc = copy.deepcopy(stack_doc("onprem-dc1"))
    mutate(doc["config"])
    assert expected in refused(doc)


def test_several_errors_are_reported_together() -> None:
    doc = copy.deepcopy(stack_doc("aws-uae-prod"))
    doc["config"]["mlops:target"] = "gcp"
    doc["config"].pop("mlops:identity")
    message = refused(doc)
    assert "mlops:target" in message and "mlops:identity" in message


def tmp_project(tmp_path: Path, stack: str, mutate) -> Path:
    """A copy of this project whose stack file is mutated; the program is this repo's infra/."""
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text(
        yaml.safe_dump(
            {"name": "mlops", "runtime": "python", "main": str(REPO_ROOT / "infra"), "stackConfigDir": "stacks"}
        )
    )
    doc = stack_doc(stack)
    mutate(doc["config"])
    (tmp_path / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(doc))
    return tmp_path


def test_stack_config_strings_reach_the_program_as_pulumi_gives_them() -> None:
    config, secrets = load_stack_config(load_project(REPO_ROOT), "onprem-dc1")
    assert config["mlops:target"] == "onprem"
    assert set(secrets) == {"mlops:kubeconfig", "mlops:nodeSshPrivateKey", "mlops:clusterJoinToken"}
    assert "v1:" not in config["mlops:kubeconfig"]


def test_bucket_expiry_defaults_for_personal_data_and_is_validated() -> None:
    from infra.config import Bucket

    assert Bucket(name="datasets", purpose="data").expiry_days == 365
    assert Bucket(name="models", purpose="models").expiry_days is None
    assert Bucket(name="runs", purpose="artifacts", expire_after_days=30).expiry_days == 30
    doc = stack_doc("aws-uae-prod")
    doc["config"]["mlops:buckets"][2]["expireAfterDays"] = 30  # the models bucket, under a 2555-day WORM lock
    assert "shorter than objectLockDays 2555" in refused(doc)
    doc["config"]["mlops:buckets"][2]["expireAfterDays"] = 4000
    assert "mlops:buckets[2].expireAfterDays" in refused(doc)

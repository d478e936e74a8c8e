"""The AWS target's own helpers: the kubeconfig it hands to the Kubernetes provider, and bucket naming."""

from __future__ import annotations

import json

import pytest

from infra.config import ConfigError
from infra.targets.aws import build, kubeconfig
from tests.components.aws.stack import stack_config
from tests.conftest import of_type, run_mocked


def test_kubeconfig_authenticates_with_short_lived_eks_tokens():
    config = json.loads(kubeconfig("prod", "me-central-1", "https://abc.eks.amazonaws.com", "Q0E="))
    (user,) = config["users"]
    assert user["user"]["exec"]["command"] == "aws"
    assert user["user"]["exec"]["args"][:4] == ["eks", "get-token", "--cluster-name", "prod"]
    assert "--region" in user["user"]["exec"]["args"]
    assert "token" not in user["user"] and "client-key-data" not in user["user"]
    assert config["clusters"][0]["cluster"] == {
        "server": "https://abc.eks.amazonaws.com",
        "certificate-authority-data": "Q0E=",
    }


def test_bucket_names_are_stack_name_then_config_name_then_account(aws):
    names = {b.inputs["bucket"] for b in of_type(aws, "aws:s3/bucket:Bucket")}
    expected = ("datasets", "features", "models", "pipeline-artifacts", "access-logs", "audit-trail")
    assert names == {f"aws-uae-prod-{name}-123456789012" for name in expected}


@pytest.mark.parametrize(
    "stack, bucket, message",
    [
        ("aws-uae-prod", "b" * 32, None),
        ("a-long-stack-name-abcdefghij", "b" * 32, r"mlops:buckets\[4\].name = 'b+': .* 74 characters; S3 allows 63"),
        ("a-very-long-stack-name-for-the-uae-region-prod", "b", r"stack name 'a-very-long.*' \(bucket 'access-logs'\)"),
    ],
)
def test_bucket_names_s3_cannot_take_are_refused_before_any_resource(stack, bucket, message):
    cfg = stack_config(overrides={"buckets": [*stack_config().model_dump(by_alias=True)["buckets"], {"name": bucket}]})
    if message is None:
        run_mocked(lambda: build(cfg), stack=stack)
        return
    with pytest.raises(ConfigError, match=message):
        run_mocked(lambda: build(cfg), stack=stack)

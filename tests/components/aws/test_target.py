"""The AWS target's own helpers: the kubeconfig it hands to the Kubernetes provider, and bucket naming."""

from __future__ import annotations

import json

import pulumi
import pytest

from infra.config import ConfigError
from infra.targets.aws import _bucket_name, _stack_slug, kubeconfig
from tests.conftest import run_mocked


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


def test_bucket_names_are_stack_name_account_and_fail_before_exceeding_s3_limits():
    names = []
    run_mocked(lambda: _bucket_name(_stack_slug(), "models", "123456789012", "k").apply(names.append), stack="Prod_UAE")
    assert names == ["prod-uae-models-123456789012"]
    with pytest.raises(ConfigError, match=r"mlops:buckets\[0\].name = 'x+'.* 65 characters; S3 allows 63"):
        run_mocked(
            lambda: _bucket_name(_stack_slug(), "x" * 32, pulumi.Output.from_input("1"), "mlops:buckets[0].name"),
            stack="a-long-stack-name-1",
        )

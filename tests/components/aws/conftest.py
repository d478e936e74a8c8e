"""One preview of the aws-uae-prod target shared by the AWS component tests (it takes about a second)."""

from __future__ import annotations

import pytest

from tests.components.aws.stack import preview_aws_target


@pytest.fixture(scope="session")
def aws_target():
    return preview_aws_target()


@pytest.fixture(scope="session")
def aws(aws_target):
    return aws_target[0]

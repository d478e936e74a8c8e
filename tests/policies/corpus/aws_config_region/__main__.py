"""Reads the provider's region through pulumi_aws.config.region."""

import pulumi
import pulumi_aws as aws
from pulumi_aws import config as aws_config

region = aws_config.region

logs = aws.s3.Bucket("logs", tags={"region": region or "unset"})

pulumi.export("region", region)
pulumi.export("bucket", logs.bucket)

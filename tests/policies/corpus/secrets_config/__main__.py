"""A secure config value stored in SSM and exported as a secret; plain config next to it."""

import pulumi
import pulumi_aws as aws

config = pulumi.Config()
api_key = config.require_secret("apiKey")
env = config.get("environment") or "dev"

param = aws.ssm.Parameter(
    "api-key",
    name=f"/{env}/api-key",
    type="SecureString",
    value=api_key,
)

pulumi.export("parameter", param.name)
pulumi.export("api_key", api_key)

"""Lambda with its IAM role passed as the Role resource itself (role=role) and code from a zip AssetArchive."""

import json

import pulumi
import pulumi_aws as aws

role = aws.iam.Role(
    "handler-role",
    assume_role_policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    ),
)

aws.iam.RolePolicyAttachment(
    "handler-logs",
    role=role.name,
    policy_arn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
)

handler = aws.lambda_.Function(
    "handler",
    runtime="python3.12",
    handler="index.handler",
    role=role,  # a Resource object as an input: the SDK sends its id
    code=pulumi.AssetArchive(
        {"index.py": pulumi.StringAsset("def handler(event, context):\n    return {'statusCode': 200}\n")}
    ),
    timeout=10,
)

pulumi.export("function_arn", handler.arn)

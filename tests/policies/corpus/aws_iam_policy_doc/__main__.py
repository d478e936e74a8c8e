"""IAM policy from aws.iam.get_policy_document, and a second one built with Output.all/apply chains."""

import json

import pulumi
import pulumi_aws as aws

bucket = aws.s3.Bucket("reports")

assume = aws.iam.get_policy_document(
    statements=[
        {
            "actions": ["sts:AssumeRole"],
            "principals": [{"type": "Service", "identifiers": ["ec2.amazonaws.com"]}],
        }
    ]
)

role = aws.iam.Role("reader", assume_role_policy=assume.json)

policy = aws.iam.Policy(
    "read-reports",
    policy=pulumi.Output.all(bucket.arn, role.name).apply(
        lambda a: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"{a[0]}/*"},
                    {
                        "Effect": "Allow",
                        "Action": ["s3:ListBucket"],
                        "Resource": a[0],
                        "Condition": {"StringEquals": {"aws:PrincipalTag/role": a[1]}},
                    },
                ],
            }
        )
    ),
)
aws.iam.RolePolicyAttachment("reader-read", role=role.name, policy_arn=policy.arn)

pulumi.export("policy_arn", policy.arn)

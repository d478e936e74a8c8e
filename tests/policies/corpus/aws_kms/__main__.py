"""KMS key whose policy names the caller's account, plus an alias."""

import json

import pulumi
import pulumi_aws as aws

me = aws.get_caller_identity()

key = aws.kms.Key(
    "data-key",
    description="corpus data key",
    deletion_window_in_days=7,
    policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "root",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{me.account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    ),
)
aws.kms.Alias("data-key-alias", name="alias/corpus-data", target_key_id=key.key_id)

pulumi.export("key_arn", key.arn)

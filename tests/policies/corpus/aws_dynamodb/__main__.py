"""DynamoDB table with a global secondary index; a random suffix names it."""

import pulumi
import pulumi_aws as aws
import pulumi_random as random

suffix = random.RandomId("table-suffix", byte_length=4)

table = aws.dynamodb.Table(
    "sessions",
    name=suffix.hex.apply(lambda h: f"sessions-{h}"),
    billing_mode="PAY_PER_REQUEST",
    hash_key="pk",
    range_key="sk",
    attributes=[{"name": "pk", "type": "S"}, {"name": "sk", "type": "S"}, {"name": "user", "type": "S"}],
    global_secondary_indexes=[{"name": "by-user", "hash_key": "user", "projection_type": "ALL"}],
    ttl={"attribute_name": "expires", "enabled": True},
)

pulumi.export("table", table.name)

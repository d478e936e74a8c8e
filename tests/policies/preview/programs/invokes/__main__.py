import json

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure

ami = aws.ec2.get_ami(
    most_recent=True, owners=["amazon"], filters=[{"name": "name", "values": ["al2023-ami-*-x86_64"]}]
)
vpc = aws.ec2.get_vpc(default=True)
subnets = aws.ec2.get_subnets(filters=[{"name": "vpc-id", "values": [vpc.id]}])
sg = aws.ec2.get_security_group(name="default", vpc_id=vpc.id)
me = aws.get_caller_identity()
region = aws.get_region()
zones = aws.get_availability_zones(state="available")
partition = aws.get_partition()
policy = aws.iam.get_policy_document(
    statements=[
        {
            "sid": "Assume",
            "actions": ["sts:AssumeRole"],
            "principals": [{"type": "Service", "identifiers": ["lambda.amazonaws.com"]}],
        },
        {
            "effect": "Deny",
            "actions": ["s3:*"],
            "resources": ["*"],
            "conditions": [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}],
        },
    ]
)
aws.ec2.Instance(
    "web",
    ami=ami.id,
    instance_type="t3.micro",
    subnet_id=subnets.ids[0],
    vpc_security_group_ids=[sg.id],
    availability_zone=zones.names[0],
)
aws.iam.Role("role", assume_role_policy=policy.json)

client = azure.authorization.get_client_config()
rg = azure.resources.get_resource_group(resource_group_name="rg-existing")
pip = azure.network.get_public_ip_address(resource_group_name=rg.name, public_ip_address_name="pip-web")
account = azure.storage.StorageAccount(
    "acct", resource_group_name=rg.name, kind="StorageV2", sku={"name": "Standard_LRS"}
)
keys = azure.storage.list_storage_account_keys_output(resource_group_name=rg.name, account_name=account.name)

pulumi.export("ami", ami.id)
pulumi.export("vpc", vpc.id)
pulumi.export("subnets", subnets.ids)
pulumi.export("sg", sg.id)
pulumi.export("account_id", me.account_id)
pulumi.export("region", region.region)
pulumi.export("zones", zones.names)
pulumi.export("partition", partition.partition)
pulumi.export("policy", json.loads(policy.json))
pulumi.export("tenant", client.tenant_id)
pulumi.export("rg_location", rg.location)
pulumi.export("ip", pip.ip_address)
pulumi.export("key_count", keys.keys.apply(len))
pulumi.export("endpoints", account.primary_endpoints)

"""A small realistic program across aws, azure-native and kubernetes, with known gaps for Checkov to find.

Secure S3 bucket with separate SSE/versioning/public-access-block/logging/policy resources, an unencrypted and
unlogged bucket, an EKS cluster with a GPU node group and launch template, VPC pieces, CloudTrail, a log group,
an RDS instance, an ElastiCache group, an IAM role; an Azure storage account allowing TLS 1.0, an AKS cluster
with a GPU pool; a plain Deployment and a Helm release.
"""

from __future__ import annotations

import json


def program() -> None:
    import pulumi
    from pulumi_aws import cloudtrail, cloudwatch, ec2, eks, elasticache, iam, kms, rds, s3
    from pulumi_azure_native import containerservice, monitor, resources, storage
    from pulumi_kubernetes.apps.v1 import Deployment
    from pulumi_kubernetes.helm.v3 import Release

    tags = {"owner": "ml", "cost-center": "cc1", "data-classification": "internal"}
    key = kms.Key("data", enable_key_rotation=True, deletion_window_in_days=30, tags=tags)
    logs = s3.Bucket("logs", bucket="mlops-logs", tags=tags)
    data = s3.Bucket("data", bucket="mlops-data", tags=tags)
    s3.BucketServerSideEncryptionConfiguration(
        "data",
        bucket=data.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn},
                "bucket_key_enabled": True,
            }
        ],
    )
    s3.BucketVersioning("data", bucket=data.id, versioning_configuration={"status": "Enabled"})
    s3.BucketPublicAccessBlock(
        "data",
        bucket=data.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )
    s3.BucketLogging("data", bucket=data.id, target_bucket=logs.id, target_prefix="data/")
    s3.BucketPolicy(
        "data",
        bucket=data.id,
        policy=data.arn.apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [arn, f"{arn}/*"],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                }
            )
        ),
    )
    s3.Bucket("open", bucket="mlops-open", tags=tags)  # no encryption, logging, versioning or access block

    vpc = ec2.Vpc("main", cidr_block="10.0.0.0/16", enable_dns_hostnames=True, tags=tags)
    subnet = ec2.Subnet(
        "private-a", vpc_id=vpc.id, cidr_block="10.0.1.0/24", availability_zone="me-central-1a", tags=tags
    )
    sg = ec2.SecurityGroup(
        "nodes",
        vpc_id=vpc.id,
        description="nodes",
        ingress=[
            {
                "protocol": "tcp",
                "from_port": 443,
                "to_port": 443,
                "cidr_blocks": ["10.0.0.0/16"],
                "description": "api",
            }
        ],
        egress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"], "description": "all"}],
        tags=tags,
    )
    flow_logs = cloudwatch.LogGroup("flow", name="/mlops/flow", retention_in_days=365, kms_key_id=key.arn, tags=tags)
    role = iam.Role(
        "nodes",
        assume_role_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
        tags=tags,
    )
    ec2.FlowLog("main", vpc_id=vpc.id, traffic_type="ALL", log_destination=flow_logs.arn, iam_role_arn=role.arn)
    cluster = eks.Cluster(
        "main",
        name="mlops",
        role_arn=role.arn,
        version="1.33",
        vpc_config={
            "subnet_ids": [subnet.id],
            "endpoint_private_access": True,
            "endpoint_public_access": False,
            "security_group_ids": [sg.id],
        },
        encryption_config={"provider": {"key_arn": key.arn}, "resources": ["secrets"]},
        enabled_cluster_log_types=["api", "audit", "authenticator", "controllerManager", "scheduler"],
        tags=tags,
    )
    template = ec2.LaunchTemplate(
        "gpu",
        metadata_options={"http_tokens": "required", "http_endpoint": "enabled", "http_put_response_hop_limit": 1},
        block_device_mappings=[
            {
                "device_name": "/dev/xvda",
                "ebs": {"encrypted": "true", "kms_key_id": key.arn, "volume_size": 200, "volume_type": "gp3"},
            }
        ],
        tags=tags,
    )
    eks.NodeGroup(
        "gpu",
        cluster_name=cluster.name,
        node_role_arn=role.arn,
        subnet_ids=[subnet.id],
        ami_type="AL2023_x86_64_NVIDIA",
        instance_types=["g5.2xlarge"],
        scaling_config={"min_size": 0, "max_size": 4, "desired_size": 1},
        launch_template={"id": template.id, "version": "1"},
        taints=[{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}],
        labels={"mlops.platform/accelerator": "nvidia"},
        tags=tags,
    )
    trail_bucket = s3.Bucket("trail", bucket="mlops-trail", tags=tags)
    cloudtrail.Trail(
        "audit",
        name="audit",
        s3_bucket_name=trail_bucket.bucket,
        kms_key_id=key.arn,
        enable_log_file_validation=True,
        is_multi_region_trail=True,
        tags=tags,
    )
    rds.Instance(
        "db",
        engine="postgres",
        instance_class="db.t4g.medium",
        allocated_storage=20,
        storage_encrypted=True,
        kms_key_id=key.arn,
        username="app",
        manage_master_user_password=True,
        backup_retention_period=7,
        publicly_accessible=False,
        tags=tags,
    )
    elasticache.ReplicationGroup(
        "cache",
        description="feast",
        node_type="cache.t4g.small",
        num_cache_clusters=2,
        at_rest_encryption_enabled="true",
        transit_encryption_enabled=True,
        kms_key_id=key.arn,
        tags=tags,
    )

    rg = resources.ResourceGroup("rg", resource_group_name="rg-mlops", location="uaenorth")
    weak = storage.StorageAccount(
        "weak",
        account_name="stmlopsweak",
        resource_group_name=rg.name,
        location="uaenorth",
        kind="StorageV2",
        sku={"name": "Standard_LRS"},
        minimum_tls_version="TLS1_0",
        enable_https_traffic_only=False,
        allow_blob_public_access=True,
        network_rule_set={"default_action": "Allow"},
        tags=tags,
    )
    for scope in ("queueServices", "blobServices"):  # same setting name twice: distinct ARM ids
        monitor.DiagnosticSetting(
            f"{scope}-logs",
            name="to-law",
            resource_uri=weak.id.apply(lambda i, s=scope: f"{i}/{s}/default"),
            workspace_id="/subscriptions/0/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law",
            logs=[{"category": "StorageRead", "enabled": True}],
        )
    aks = containerservice.ManagedCluster(
        "aks",
        resource_name_="aks-mlops",
        resource_group_name=rg.name,
        location="uaenorth",
        dns_prefix="mlops",
        identity={"type": "SystemAssigned"},
        agent_pool_profiles=[{"name": "system", "mode": "System", "count": 1, "vm_size": "Standard_D4s_v5"}],
        tags=tags,
    )
    containerservice.AgentPool(
        "gpu",
        agent_pool_name="gpu",
        resource_name_=aks.name,
        resource_group_name=rg.name,
        vm_size="Standard_NC24ads_A100_v4",
        count=1,
        mode="User",
        node_taints=["nvidia.com/gpu=present:NoSchedule"],
        enable_encryption_at_host=True,
    )

    Deployment(
        "web",
        metadata={"name": "web", "namespace": "apps"},
        spec={
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    )
    # the pinned chart (components/versions.py): the shipped exception in policies/exceptions/unrendered.yaml allows it
    Release(
        "gpu-operator",
        chart="gpu-operator",
        version="v25.10.1",
        repository_opts={"repo": "https://helm.ngc.nvidia.com/nvidia"},
        namespace="gpu-operator",
    )
    pulumi.export("cluster", cluster.name)

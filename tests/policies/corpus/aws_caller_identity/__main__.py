"""Names a bucket after the account and region from aws.get_caller_identity and aws.get_region."""

import pulumi
import pulumi_aws as aws

account = aws.get_caller_identity()
region = aws.get_region()

artifacts = aws.s3.Bucket("artifacts", bucket=f"artifacts-{account.account_id}-{region.name}")
aws.s3.BucketVersioning("artifacts-versioning", bucket=artifacts.id, versioning_configuration={"status": "Enabled"})

pulumi.export("account", account.account_id)
pulumi.export("bucket", artifacts.bucket)

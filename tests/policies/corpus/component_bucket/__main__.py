"""A ComponentResource class wrapping a bucket with versioning and encryption; used twice."""

import pulumi
import pulumi_aws as aws


class SecureBucket(pulumi.ComponentResource):
    def __init__(self, name: str, *, versioned: bool = True, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("corpus:storage:SecureBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(name, opts=child)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-sse",
            bucket=self.bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}}],
            opts=child,
        )
        if versioned:
            aws.s3.BucketVersioning(
                f"{name}-versioning",
                bucket=self.bucket.id,
                versioning_configuration={"status": "Enabled"},
                opts=child,
            )
        self.register_outputs({"bucket": self.bucket.bucket})


raw = SecureBucket("raw")
curated = SecureBucket("curated", versioned=False)

pulumi.export("raw", raw.bucket.bucket)
pulumi.export("curated", curated.bucket.bucket)

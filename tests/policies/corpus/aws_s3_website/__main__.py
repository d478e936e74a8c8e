"""S3 static website: the files come from ./www, read through a path relative to the program directory."""

import mimetypes
import os

import pulumi
import pulumi_aws as aws

site = aws.s3.Bucket("site")

aws.s3.BucketWebsiteConfiguration(
    "site-website",
    bucket=site.id,
    index_document={"suffix": "index.html"},
    error_document={"key": "error.html"},
)

aws.s3.BucketPublicAccessBlock(
    "site-public",
    bucket=site.id,
    block_public_acls=False,
    block_public_policy=False,
    ignore_public_acls=False,
    restrict_public_buckets=False,
)

for name in sorted(os.listdir("www")):  # relative: Pulumi runs a program from its own directory
    path = os.path.join("www", name)
    aws.s3.BucketObject(
        name,
        bucket=site.id,
        key=name,
        source=pulumi.FileAsset(path),
        content_type=mimetypes.guess_type(path)[0] or "application/octet-stream",
    )

pulumi.export("bucket", site.bucket)

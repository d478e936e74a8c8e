"""Creates a bucket, then calls sys.exit(0) halfway: the preview must not pass this off as a success."""

import sys

import pulumi_aws as aws

aws.s3.Bucket("before-exit")
sys.exit(0)
aws.s3.Bucket("never-reached")  # unreachable on purpose

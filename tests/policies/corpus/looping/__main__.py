"""A program that never ends (waits for a condition that never comes): the preview must time out, not hang."""

import time

import pulumi_aws as aws

aws.s3.Bucket("waiting")
ready = False
while not ready:
    time.sleep(0.05)

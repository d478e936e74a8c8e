"""SNS topic fanning out to an SQS queue; the queue policy is built with Output.all(...).apply."""

import json

import pulumi
import pulumi_aws as aws

topic = aws.sns.Topic("events")
queue = aws.sqs.Queue("events-queue", visibility_timeout_seconds=60)

aws.sns.TopicSubscription("events-to-queue", topic=topic.arn, protocol="sqs", endpoint=queue.arn)

aws.sqs.QueuePolicy(
    "events-queue-policy",
    queue_url=queue.url,
    policy=pulumi.Output.all(queue.arn, topic.arn).apply(
        lambda args: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": args[0],
                        "Condition": {"ArnEquals": {"aws:SourceArn": args[1]}},
                    }
                ],
            }
        )
    ),
)

pulumi.export("queue_arn", queue.arn)

import pulumi
import pulumi_aws as aws
import pulumi_random as random

bucket = aws.s3.Bucket("data")
value = bucket.arn
for i in range(200):  # a deep chain of applies
    value = value.apply(lambda v, i=i: f"{v}" if i else v)
suffixes = [random.RandomString(f"s{i}", length=8, special=False) for i in range(20)]
joined = pulumi.Output.all(*[s.result for s in suffixes]).apply(lambda rs: "-".join(rs))
nested = pulumi.Output.all(arn=value, joined=joined, zones=aws.get_availability_zones_output().names).apply(
    lambda a: pulumi.Output.all(a["arn"], a["joined"]).apply(lambda b: f"{b[0]}|{len(b[1])}|{len(a['zones'])}")
)
policy = aws.iam.get_policy_document_output(
    statements=[{"actions": ["s3:GetObject"], "resources": [value.apply(lambda a: f"{a}/*")]}]
)
aws.iam.Policy("read", policy=policy.json)
aws.s3.BucketPolicy("deny", bucket=bucket.id, policy=nested.apply(lambda n: '{"Statement": []}'))
pulumi.export("nested", nested)
pulumi.export("chain", value)

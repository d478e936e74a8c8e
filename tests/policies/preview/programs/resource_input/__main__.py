import pulumi
import pulumi_aws as aws


class Group(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("demo:index:Group", name, None, opts)
        self.register_outputs({})


group = Group("group")
role = aws.iam.Role("lambda-role", assume_role_policy='{"Version": "2012-10-17", "Statement": []}')
fn = aws.lambda_.Function(
    "fn",
    role=role,
    runtime="python3.12",
    handler="index.handler",
    code=pulumi.AssetArchive({"index.py": pulumi.StringAsset("def handler(e, c): return 1")}),
)
# A resource inside another input: a tag map holding the component and the role.
aws.s3.Bucket("bucket", tags={"owner": role, "group": group})
pulumi.export("role", role)

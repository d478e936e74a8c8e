import os
import pathlib

import pulumi
import pulumi_aws as aws

site = aws.s3.Bucket("site")
for name in sorted(os.listdir("./www")):
    aws.s3.BucketObject(
        name, bucket=site.id, source=pulumi.FileAsset(f"./www/{name}"), content=pathlib.Path("www", name).read_text()
    )
aws.lambda_.Function(
    "fn",
    role="arn:aws:iam::123456789012:role/fn",
    runtime="python3.12",
    handler="index.handler",
    code=pulumi.AssetArchive(
        {
            "index.py": pulumi.StringAsset("def handler(e, c): return 1"),
            "www": pulumi.FileArchive("./www"),
            "lib": pulumi.AssetArchive({"remote.txt": pulumi.RemoteAsset("https://example.com/remote.txt")}),
        }
    ),
)
aws.lambda_.LayerVersion("layer", layer_name="deps", code=pulumi.RemoteArchive("https://example.com/layer.zip"))
pulumi.export("cwd", os.getcwd())

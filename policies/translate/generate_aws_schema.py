"""Generate ``aws_schema.json``: how each pulumi-aws resource maps back to its Terraform type and attributes.

pulumi-aws is bridged from the Terraform AWS provider. The installed Python SDK carries everything translation
needs except the Terraform type names: each resource's ``Args`` class lists the Pulumi (camelCase) input names
with their Python (snake_case) names and type annotations (list, map, nested block, JSON document), and nested
input classes are named after the block, singularised (``BucketServerSideEncryptionConfigurationRuleArgs`` is
block ``rule``, which Pulumi calls ``rules``). Singularising is wrong wherever Terraform itself names a block in the
plural (``aws_launch_template.block_device_mappings``, ``tag_specifications``, ``network_interfaces``) and the SDK
cannot tell the two apart, so those names, and scalars Pulumi renamed, come from ``aws_tf_names.json``: a reviewed
table ``generate_aws_tf_names`` derives from the provider's own schema. :data:`CLASS_NAME_EXCEPTIONS` and
:data:`ATTRIBUTE_EXCEPTIONS` hold the few reviewed names neither gives.
Terraform type names follow ``aws:<mod>/<camel>:<Name>`` -> ``aws_<mod>_<snake>``, except where the provider
mapping says otherwise: :data:`TF_TYPE_EXCEPTIONS` (reviewed against the types Checkov's AWS checks name).

The SDK is read as source text (no import: importing every pulumi-aws module takes minutes). Only what the
trivial rule (camelCase -> snake_case, scalar) does not already give is written, to keep the data file small.

Run: ``.venv/bin/python -m policies.translate.generate_aws_schema`` (rewrites the committed data file).
"""

from __future__ import annotations

import fnmatch
import json
import re
import sys
from functools import lru_cache
from pathlib import Path

OUT = Path(__file__).with_name("aws_schema.json")
TF_NAMES = Path(__file__).with_name("aws_tf_names.json")

# Terraform type of tokens whose name does not follow aws_<module>_<name>. Reviewed against the
# ``supported_resources`` of Checkov's AWS checks (tests/policies/translate/test_aws_schema.py proves the coverage).
EC2_PREFIXED = {
    # ec2 tokens whose Terraform type keeps the ``aws_ec2_`` prefix; every other ec2 token drops it.
    "availabilityZoneGroup",
    "capacityBlockReservation",
    "capacityReservation",
    "carrierGateway",
    "clientVpnEndpoint",
    "defaultCreditSpecification",
    "fleet",
    "host",
    "imageBlockPublicAccess",
    "instanceConnectEndpoint",
    "instanceMetadataDefaults",
    "instanceState",
    "localGatewayRoute",
    "localGatewayRouteTableVpcAssociation",
    "managedPrefixList",
    "managedPrefixListEntry",
    "networkInsightsAnalysis",
    "networkInsightsPath",
    "serialConsoleAccess",
    "subnetCidrReservation",
    "tag",
    "trafficMirrorFilter",
    "trafficMirrorFilterRule",
    "trafficMirrorSession",
    "trafficMirrorTarget",
    "transitGatewayPeeringAttachmentAccepter",
    "allowedImagesSettings",
    "spotFleetRequest",
}
TF_TYPE_EXCEPTIONS = {
    "aws:s3/bucketV2:BucketV2": "aws_s3_bucket",
    "aws:s3/bucketObjectv2:BucketObjectv2": "aws_s3_object",
    "aws:s3/bucketObject:BucketObject": "aws_s3_bucket_object",
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:rds/snapshot:Snapshot": "aws_db_snapshot",
    "aws:rds/snapshotCopy:SnapshotCopy": "aws_db_snapshot_copy",
    "aws:rds/clusterSnapshot:ClusterSnapshot": "aws_db_cluster_snapshot",
    "aws:rds/parameterGroup:ParameterGroup": "aws_db_parameter_group",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "aws:rds/optionGroup:OptionGroup": "aws_db_option_group",
    "aws:rds/proxy:Proxy": "aws_db_proxy",
    "aws:rds/eventSubscription:EventSubscription": "aws_db_event_subscription",
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": "aws_db_instance_automated_backups_replication",
    "aws:cloudtrail/trail:Trail": "aws_cloudtrail",
    "aws:codepipeline/pipeline:Pipeline": "aws_codepipeline",
    "aws:alb/loadBalancer:LoadBalancer": "aws_alb",
    "aws:alb/listener:Listener": "aws_alb_listener",
    "aws:alb/targetGroup:TargetGroup": "aws_alb_target_group",
    "aws:lb/loadBalancer:LoadBalancer": "aws_lb",
    "aws:elb/loadBalancer:LoadBalancer": "aws_elb",
    "aws:elb/loadBalancerPolicy:LoadBalancerPolicy": "aws_load_balancer_policy",
    "aws:ec2/launchConfiguration:LaunchConfiguration": "aws_launch_configuration",
    "aws:ec2clientvpn/endpoint:Endpoint": "aws_ec2_client_vpn_endpoint",
    "aws:ec2clientvpn/networkAssociation:NetworkAssociation": "aws_ec2_client_vpn_network_association",
    "aws:ec2transitgateway/transitGateway:TransitGateway": "aws_ec2_transit_gateway",
    "aws:elasticbeanstalk/environment:Environment": "aws_elastic_beanstalk_environment",
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": "aws_kinesis_firehose_delivery_stream",
    "aws:route53/zone:Zone": "aws_route53_zone",
    "aws:route53/hostedZoneDnsSec:HostedZoneDnsSec": "aws_route53_hosted_zone_dnssec",
    "aws:route53/resolverEndpoint:ResolverEndpoint": "aws_route53_resolver_endpoint",
    "aws:cfg/aggregateAuthorization:AggregateAuthorization": "aws_config_aggregate_authorization",
    "aws:cfg/configurationAggregator:ConfigurationAggregator": "aws_config_configuration_aggregator",
    "aws:cfg/recorder:Recorder": "aws_config_configuration_recorder",
    "aws:cfg/recorderStatus:RecorderStatus": "aws_config_configuration_recorder_status",
    "aws:cfg/rule:Rule": "aws_config_config_rule",
    "aws:cfg/deliveryChannel:DeliveryChannel": "aws_config_delivery_channel",
    "aws:cfg/conformancePack:ConformancePack": "aws_config_conformance_pack",
    "aws:cfg/remediationConfiguration:RemediationConfiguration": "aws_config_remediation_configuration",
    "aws:cloudwatch/eventTarget:EventTarget": "aws_cloudwatch_event_target",
    "aws:lambda/function:Function": "aws_lambda_function",
    "aws:lambda/functionUrl:FunctionUrl": "aws_lambda_function_url",
    "aws:lambda/permission:Permission": "aws_lambda_permission",
    "aws:dynamodb/globalTable:GlobalTable": "aws_dynamodb_global_table",
    "aws:ebs/encryptionByDefault:EncryptionByDefault": "aws_ebs_encryption_by_default",
    "aws:ebs/snapshotCopy:SnapshotCopy": "aws_ebs_snapshot_copy",
    "aws:ebs/volume:Volume": "aws_ebs_volume",
    "aws:ec2/volumeAttachment:VolumeAttachment": "aws_volume_attachment",
    "aws:opensearch/serverlessVpcEndpoint:ServerlessVpcEndpoint": "aws_opensearchserverless_vpc_endpoint",
    "aws:docdb/elasticCluster:ElasticCluster": "aws_docdbelastic_cluster",
    "aws:bedrock/agentAgent:AgentAgent": "aws_bedrockagent_agent",
    "aws:sagemaker/flowDefinition:FlowDefinition": "aws_sagemaker_flow_definition",
    "aws:iam/policyAttachment:PolicyAttachment": "aws_iam_policy_attachment",
    "aws:redshift/snapshotCopyGrant:SnapshotCopyGrant": "aws_redshift_snapshot_copy_grant",
    "aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment": "aws_ssoadmin_managed_policy_attachment",
    "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy": "aws_ssoadmin_permission_set_inline_policy",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "aws_vpc_security_group_egress_rule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "aws_vpc_security_group_ingress_rule",
    "aws:appsync/apiCache:ApiCache": "aws_appsync_api_cache",
    "aws:appsync/graphQLApi:GraphQLApi": "aws_appsync_graphql_api",
    "aws:mskconnect/connector:Connector": "aws_mskconnect_connector",
    "aws:msk/cluster:Cluster": "aws_msk_cluster",
    "aws:msk/vpcConnection:VpcConnection": "aws_msk_vpc_connection",
    "aws:datasync/s3Location:S3Location": "aws_datasync_location_s3",
    "aws:datasync/locationObjectStorage:LocationObjectStorage": "aws_datasync_location_object_storage",
    "aws:dms/s3Endpoint:S3Endpoint": "aws_dms_s3_endpoint",
    "aws:codegurureviewer/repositoryAssociation:RepositoryAssociation": "aws_codegurureviewer_repository_association",
    "aws:timestreamwrite/database:Database": "aws_timestreamwrite_database",
    "aws:route53domains/registeredDomain:RegisteredDomain": "aws_route53domains_registered_domain",
    "aws:autoscaling/attachment:Attachment": "aws_autoscaling_attachment",
}
TF_TYPE_EXCEPTIONS.update(
    {
        "aws:ec2transitgateway/instanceConnectEndpoint:InstanceConnectEndpoint": "aws_ec2_instance_connect_endpoint",
        "aws:s3/bucketReplicationConfig:BucketReplicationConfig": "aws_s3_bucket_replication_configuration",
        "aws:datasync/efsLocation:EfsLocation": "aws_datasync_location_efs",
        "aws:datasync/nfsLocation:NfsLocation": "aws_datasync_location_nfs",
    }
)
# Pulumi modules whose Terraform prefix differs from the module name.
MODULE_PREFIX = {
    "apigateway": "api_gateway",
    "cfg": "config",
    "ec2clientvpn": "ec2_client_vpn",
    "ec2transitgateway": "ec2_transit_gateway",
    "elasticbeanstalk": "elastic_beanstalk",
}
# Terraform services Pulumi folded into a neighbouring module (``bedrockagent`` into ``bedrock``).
PREFIX_REWRITES = {
    "aws_opensearch_serverless_": "aws_opensearchserverless_",
    "aws_bedrock_agent_": "aws_bedrockagent_",
    "aws_docdb_elastic_": "aws_docdbelastic_",
    "aws_fsx_open_zfs_": "aws_fsx_openzfs_",
}
# Scalar lists Pulumi pluralised (block names are recovered from the nested class names instead).
ATTRIBUTE_EXCEPTIONS = {
    "aws:autoscaling/group:Group": {"vpcZoneIdentifiers": "vpc_zone_identifier"},
}

# Reviewed names the provider-schema table cannot give: nested classes the SDK leaves untyped past a depth.
CLASS_NAME_EXCEPTIONS = {
    "wafv2:*Statement*Args": {"statements": "statement"},  # and/or/not_statement { statement { ... } }
}

_CLASS = re.compile(r"^class (\w+)(?:\(([^)]*)\))?:", re.MULTILINE)
_GETTER = re.compile(
    r"@pulumi\.getter(?:\(name=\"(\w+)\"\))?\n(?:\s+@[^\n]*\n)*\s+def (\w+)\(self\) -> (.*?):\n", re.MULTILINE
)
_TOKEN = re.compile(r"@pulumi\.type_token\(\"(aws:[^\"]+)\"\)\nclass (\w+)\(pulumi\.CustomResource\)")
_ALIAS = re.compile(r"pulumi\.Alias\(type_=\"(aws:[^\"]+)\"\)")
_ARGS_REF = re.compile(r"'(?:(_[a-z0-9_]+)\.)?([A-Z]\w*Args)'")


def camel_to_snake(name: str) -> str:
    """The trivial Pulumi -> Terraform name rule; translation applies it where the data file says nothing."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def standard_tf_type(token: str) -> str:
    _, mod_name, _kind = token.split(":")
    module, name = mod_name.split("/")
    if module == "s3" and name.endswith("V2"):
        name = name[: -len("V2")]  # deprecated aliases of the same Terraform type (pulumi-aws v7)
    if module == "ec2" and name not in EC2_PREFIXED:
        return f"aws_{camel_to_snake(name)}"
    tf_type = f"aws_{MODULE_PREFIX.get(module, module)}_{camel_to_snake(name)}"
    for old, new in PREFIX_REWRITES.items():
        if tf_type.startswith(old):
            return new + tf_type[len(old) :]
    return tf_type


def _class_bodies(text: str) -> dict[str, str]:
    matches = list(_CLASS.finditer(text))
    return {
        m.group(1): text[m.end() : matches[i + 1].start() if i + 1 < len(matches) else len(text)]
        for i, m in enumerate(matches)
    }


def _kind(annotation: str) -> tuple[str, str | None, str | None]:
    """(kind, module alias, class) of a getter annotation: L block list, O one block, J JSON text, S scalar."""
    inner = annotation
    for wrapper in ("pulumi.Input[", "Optional["):
        if inner.startswith(wrapper):
            inner = inner[len(wrapper) : -1]
    ref = _ARGS_REF.search(inner)
    if ref is None or inner.startswith("Mapping["):
        return "S", None, None
    if inner.startswith("Union[_builtins.str"):
        return "J", None, None
    if inner.startswith("Sequence["):
        return "L", ref.group(1), ref.group(2)
    return "O", ref.group(1), ref.group(2)


def getters(body: str) -> list[tuple[str, str, str]]:
    """(Pulumi name, Python name, type annotation) of each property of an Args class body."""
    return [(m.group(1) or m.group(2), m.group(2), m.group(3)) for m in _GETTER.finditer(body)]


def sdk_name(owner: str, py_name: str, kind: str, alias: str | None, cls: str | None) -> str:
    """The Terraform name the SDK alone suggests: the Python name, or for a block the nested class's suffix
    (``BucketServerSideEncryptionConfigurationRuleArgs`` -> ``rule``). Pulumi singularises class names, so a
    block Terraform names in the plural needs :func:`tf_names`."""
    if kind in ("L", "O") and cls and alias is None:
        prefix, block = owner.removesuffix("Args"), cls.removesuffix("Args")
        if block.startswith(prefix) and len(block) > len(prefix):
            return camel_to_snake(block[len(prefix) :])
    return py_name.rstrip("_")


def ref_module(module: str, alias: str | None) -> str:
    """The SDK module a nested class reference (``_root_inputs.X``, ``_ec2.X`` or a bare name) points into."""
    return module if alias is None else ("" if alias == "_root_inputs" else alias.lstrip("_"))


@lru_cache(maxsize=1)
def tf_names() -> dict[str, dict[str, str]]:
    """``<module>:<Args class>`` -> {Pulumi name: Terraform name} where :func:`sdk_name` is wrong: the reviewed
    table ``generate_aws_tf_names`` derives from the provider's schema (plural blocks, renamed scalars)."""
    return json.loads(TF_NAMES.read_text())["renames"]


def resource_classes(root: Path) -> list[tuple[str, str, str, str, list[str]]]:
    """(token, module, resource class, Args class body, alias tokens) of every resource in the SDK."""
    found: list[tuple[str, str, str, str, list[str]]] = []
    for path in sorted(root.glob("*/*.py")):
        if path.name.startswith(("_", "get_")) or path.name == "outputs.py":
            continue
        text = path.read_text()
        token = _TOKEN.search(text)
        if token is None:
            continue
        bodies = _class_bodies(text)
        cls = token.group(2)
        body = bodies.get(f"{cls}InitArgs", bodies.get(f"{cls}Args", ""))
        found.append((token.group(1), path.parent.name, cls, body, _ALIAS.findall(text)))
    return found


class _Sdk:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._inputs: dict[str, dict[str, str]] = {}
        self.classes: dict[str, dict[str, object]] = {}

    def inputs_of(self, module: str) -> dict[str, str]:
        if module not in self._inputs:
            path = self.root / ("_inputs.py" if module == "" else f"{module}/_inputs.py")
            self._inputs[module] = _class_bodies(path.read_text()) if path.is_file() else {}
        return self._inputs[module]

    def props(self, body: str, owner: str, module: str, token: str | None) -> dict[str, object]:
        """Non-trivial properties of one Args class body; nested classes are recorded in :attr:`classes`."""
        out: dict[str, object] = {}
        key = f"{module}:{owner}"
        reviewed = [names for pattern, names in CLASS_NAME_EXCEPTIONS.items() if fnmatch.fnmatchcase(key, pattern)]
        renames = {
            **tf_names().get(key, {}),
            **{k: v for r in reviewed for k, v in r.items()},
            **ATTRIBUTE_EXCEPTIONS.get(token or "", {}),
        }
        for camel, py_name, annotation in getters(body):
            kind, alias, cls = _kind(annotation)
            tf_name = renames.get(camel) or sdk_name(owner, py_name, kind, alias, cls)
            if kind in ("L", "O") and cls:
                out[camel] = [tf_name, kind, self.nested(ref_module(module, alias), cls)]
            elif kind == "J":
                out[camel] = [tf_name, "J", None]
            elif tf_name != camel_to_snake(camel):
                out[camel] = tf_name
        return out

    def nested(self, module: str, cls: str) -> str | None:
        key = f"{module}:{cls}"
        if key in self.classes:
            return key if self.classes[key] else None
        self.classes[key] = {}  # cycle guard
        body = self.inputs_of(module).get(cls)
        if body is None:
            return None
        self.classes[key] = self.props(body, cls, module, None)
        return key if self.classes[key] else None


def generate(sdk_root: Path) -> dict[str, object]:
    sdk = _Sdk(sdk_root)
    resources: dict[str, object] = {}
    for token, module, cls, body, aliases in resource_classes(sdk_root):
        entry: dict[str, object] = {"tf": TF_TYPE_EXCEPTIONS.get(token) or standard_tf_type(token)}
        props = sdk.props(body, cls, module, token)
        if props:
            entry["p"] = props
        resources[token] = entry
        for alias in aliases:
            resources.setdefault(alias, {"alias": token})
    classes = {k: v for k, v in sorted(sdk.classes.items()) if v}
    return {
        "generated_from": f"pulumi-aws {json.loads((sdk_root / 'pulumi-plugin.json').read_text())['version']}",
        "resources": dict(sorted(resources.items())),
        "classes": classes,
    }


def sdk_root() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("pulumi_aws")
    if spec is None or spec.origin is None:
        raise SystemExit("pulumi_aws is not installed in this environment; run with .venv/bin/python")
    return Path(spec.origin).parent


def render(data: dict[str, object]) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=False) + "\n"


def main() -> int:
    OUT.write_text(render(generate(sdk_root())))
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

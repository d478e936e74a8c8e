"""Pulumi mocks that answer like the real providers would, so no dependent input is silently dropped.

Under mocks, an input built from an output the mock did not return (an ARN, an id, an endpoint) is dropped
from the dependent resource. These mocks return realistic computed outputs for every resource, derived
deterministically from the resource's name, so previews are stable and golden-testable.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import pulumi

from policies.preview.model import UNKNOWN

ACCOUNT_ID = "123456789012"
SUBSCRIPTION_ID = "00000000-0000-4000-8000-000000000001"
TENANT_ID = "00000000-0000-4000-8000-000000000002"
OBJECT_ID = "00000000-0000-4000-8000-000000000003"


def _hex(seed: str, n: int = 8) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


def _uuid(seed: str) -> str:
    h = hashlib.sha256(seed.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"


def _camel_to_kebab(value: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", value).lower()


# AWS resource types whose physical id has a well-known prefix.
_AWS_ID_PREFIX = {
    "ec2/vpc:Vpc": "vpc",
    "ec2/subnet:Subnet": "subnet",
    "ec2/securityGroup:SecurityGroup": "sg",
    "ec2/routeTable:RouteTable": "rtb",
    "ec2/internetGateway:InternetGateway": "igw",
    "ec2/natGateway:NatGateway": "nat",
    "ec2/eip:Eip": "eipalloc",
    "ec2/vpcEndpoint:VpcEndpoint": "vpce",
    "ec2/launchTemplate:LaunchTemplate": "lt",
    "ec2/flowLog:FlowLog": "fl",
}


class PlatformMocks(pulumi.runtime.Mocks):
    """Realistic outputs for aws, azure-native, kubernetes, command and random resources and invokes."""

    def __init__(
        self,
        region: str = "me-central-1",
        stack_references: dict[str, dict[str, Any]] | None = None,
        azure_location: str | None = None,
    ) -> None:
        self.region = region
        self.azure_location = azure_location or region
        self.stack_references = dict(stack_references or {})

    # --- resources -------------------------------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        rid, state = self._new_resource(args)
        if not isinstance(rid, str):  # an id taken from an input the preview cannot know (an unknown name)
            rid = f"{args.name}-{_hex(args.typ + args.name)}"
        return rid, state

    def _new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        package = args.typ.split(":", 1)[0]
        state = dict(args.inputs)
        if args.typ.startswith("pulumi:providers:"):
            return _uuid(args.name), state
        if args.typ == "pulumi:pulumi:StackReference":
            return self._stack_reference(args, state)
        if package == "aws":
            return self._aws(args, state)
        if package == "azure-native":
            return self._azure(args, state)
        if package == "kubernetes":
            return self._kubernetes(args, state)
        if args.typ == "command:local:Command":
            # A preview runs no command (nor does a real `pulumi preview`): what it prints is unknown until
            # `pulumi up`. Resources built from it (the RDS CA bundle's ConfigMap) see the engine's unknown.
            state.update(stdout=UNKNOWN, stderr=UNKNOWN)
            return f"{args.name}-{_hex(args.typ + args.name)}", state
        if package == "random":
            state.setdefault("result", f"mock-{_hex(args.name, 24)}")
            if args.typ == "random:index/randomBytes:RandomBytes":
                raw = (hashlib.sha256(args.name.encode()).digest() * 64)[: int(state.get("length", 32))]
                state.setdefault("base64", base64.b64encode(raw).decode())
                state.setdefault("hex", raw.hex())
            if args.typ == "random:index/randomId:RandomId":
                raw = hashlib.sha256(args.name.encode()).digest()[: int(state.get("byteLength", 8))]
                b64 = base64.b64encode(raw).decode()
                state.update(hex=raw.hex(), dec=str(int.from_bytes(raw, "big")), b64Std=b64)
                state["b64Url"] = b64.replace("+", "-").replace("/", "_").rstrip("=")
                return state["b64Url"], state
            return f"{args.name}-{_hex(args.name)}", state
        return f"{args.name}-{_hex(args.typ + args.name)}", state

    def _aws(self, args: pulumi.runtime.MockResourceArgs, state: dict) -> tuple[str, dict]:
        module_type = args.typ.split(":", 1)[1]
        service = module_type.split("/", 1)[0]
        kind = module_type.rsplit(":", 1)[1]
        name = state.get("name")  # unknown when it is built from an output the preview cannot know
        physical = name if isinstance(name, str) and name else f"{args.name}-{_hex(args.name, 7)}"
        prefix = _AWS_ID_PREFIX.get(module_type)
        rid = f"{prefix}-{_hex(args.typ + args.name, 17)}" if prefix else physical
        region = state.get("region") or self.region
        state.setdefault("arn", f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{_camel_to_kebab(kind)}/{physical}")
        if "tags" in state:  # the provider computes tagsAll only for taggable types
            state.setdefault("tagsAll", state["tags"])
        if module_type == "s3/bucket:Bucket":
            bucket = state.get("bucket") or physical
            state.update(bucket=bucket, arn=f"arn:aws:s3:::{bucket}", bucketDomainName=f"{bucket}.s3.amazonaws.com")
            state.setdefault("bucketRegionalDomainName", f"{bucket}.s3.{region}.amazonaws.com")
            return bucket, state
        if service == "kms" and kind == "Key":
            key_id = _uuid(args.name)
            state.update(keyId=key_id, arn=f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{key_id}")
            return key_id, state
        if service == "iam":
            state.setdefault("name", physical)
            state["arn"] = f"arn:aws:iam::{ACCOUNT_ID}:{_camel_to_kebab(kind)}/{physical}"
            if kind == "Role":
                state.setdefault("uniqueId", f"AROA{_hex(args.name, 17).upper()}")
            if kind == "OpenIdConnectProvider":
                state["arn"] = (
                    f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{state.get('url', '').removeprefix('https://')}"
                )
            return physical, state
        if module_type == "eks/cluster:Cluster":
            oidc = f"https://oidc.eks.{region}.amazonaws.com/id/{_hex(args.name, 32).upper()}"
            state.setdefault("name", physical)
            state.update(
                endpoint=f"https://{_hex(args.name, 32).upper()}.gr7.{region}.eks.amazonaws.com",
                certificateAuthority={"data": base64.b64encode(b"mock-ca-" + args.name.encode()).decode()},
                identities=[{"oidcs": [{"issuer": oidc}]}],
                platformVersion="eks.1",
                status="ACTIVE",
            )
            vpc = dict(state.get("vpcConfig") or {})
            vpc.setdefault("clusterSecurityGroupId", f"sg-{_hex(args.name + 'cluster', 17)}")
            state["vpcConfig"] = vpc
            return physical, state
        if module_type == "ec2/launchTemplate:LaunchTemplate":
            state.setdefault("latestVersion", 1)
            state.setdefault("defaultVersion", 1)
        if module_type == "rds/instance:Instance":
            host = f"{physical}.{_hex(args.name, 12)}.{region}.rds.amazonaws.com"
            state.update(address=host, endpoint=f"{host}:5432", port=state.get("port", 5432))
        if module_type == "elasticache/replicationGroup:ReplicationGroup":
            host = f"master.{physical}.{_hex(args.name, 6)}.mec1.cache.amazonaws.com"
            state.update(primaryEndpointAddress=host, readerEndpointAddress=host.replace("master.", "replica."))
        if module_type == "cloudtrail/trail:Trail":
            state["arn"] = f"arn:aws:cloudtrail:{region}:{ACCOUNT_ID}:trail/{physical}"
        if module_type == "cloudwatch/logGroup:LogGroup":
            state["arn"] = f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{physical}"
        return rid, state

    def _azure(self, args: pulumi.runtime.MockResourceArgs, state: dict) -> tuple[str, dict]:
        _, module, kind = args.typ.split(":")
        name = _azure_name(kind, state) or state.get("name")
        if not isinstance(name, str):
            name = _uuid(args.typ + args.name) if kind == "RoleAssignment" else f"{args.name}{_hex(args.name, 6)}"
        rid = _azure_id(module, kind, name, state)
        state.update(name=name, id=rid)
        location = state.get("location", self.azure_location)
        identity = state.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            # Inputs list the identity ids; the provider reports a map of id -> the identity's principal and client.
            state["identity"] = {
                **identity,
                "userAssignedIdentities": {
                    i: {"principalId": _uuid(i + "p"), "clientId": _uuid(i + "c")}
                    for i in identity["userAssignedIdentities"]
                },
            }
        if kind == "ManagedCluster":
            state.update(
                fqdn=f"{name}-{_hex(name, 8)}.hcp.{location}.azmk8s.io",
                privateFQDN=f"{name}-{_hex(name, 8)}.{_uuid(name)}.privatelink.{location}.azmk8s.io",
                oidcIssuerProfile={
                    **(state.get("oidcIssuerProfile") or {}),
                    "issuerURL": f"https://{location}.oic.prod-aks.azure.com/{TENANT_ID}/{_uuid(name)}/",
                },
                identityProfile={
                    "kubeletidentity": {"objectId": _uuid(name + "kubelet"), "clientId": _uuid(name + "kc")}
                },
                provisioningState="Succeeded",
            )
            identity = dict(state.get("identity") or {})
            identity.setdefault("principalId", _uuid(name + "principal"))
            state["identity"] = identity
        if kind == "Vault":
            props = dict(state.get("properties") or {})
            props.setdefault("vaultUri", f"https://{name}.vault.azure.net/")
            state["properties"] = props
        if kind == "Key" and module == "keyvault":
            uri = f"https://{state.get('vaultName', 'vault')}.vault.azure.net/keys/{name}"
            state.update(keyUri=uri, keyUriWithVersion=f"{uri}/{_hex(name, 32)}")
        if kind in ("UserAssignedIdentity",):
            state.update(principalId=_uuid(name + "p"), clientId=_uuid(name + "c"), tenantId=TENANT_ID)
        if kind == "StorageAccount":
            state["primaryEndpoints"] = {
                "blob": f"https://{name}.blob.core.windows.net/",
                "dfs": f"https://{name}.dfs.core.windows.net/",
                "file": f"https://{name}.file.core.windows.net/",
                "queue": f"https://{name}.queue.core.windows.net/",
                "table": f"https://{name}.table.core.windows.net/",
                "web": f"https://{name}.z1.web.core.windows.net/",
            }
            identity = dict(state.get("identity") or {})
            if identity:
                identity.setdefault("principalId", _uuid(name + "principal"))
                state["identity"] = identity
        if kind == "DiskEncryptionSet":
            identity = dict(state.get("identity") or {})
            identity.setdefault("tenantId", TENANT_ID)
            state["identity"] = identity
        if kind == "PrivateEndpoint":
            state["networkInterfaces"] = [
                {"id": _azure_id("network", "NetworkInterface", f"{name}.nic.{_uuid(name)}", state)}
            ]
        if kind == "Workspace" and module == "operationalinsights":
            state["customerId"] = _uuid(name)
        if kind in ("Server",) and module == "dbforpostgresql":
            state["fullyQualifiedDomainName"] = f"{name}.postgres.database.azure.com"
        if kind in ("Server",) and module == "dbformysql":
            state["fullyQualifiedDomainName"] = f"{name}.mysql.database.azure.com"
        if kind == "Redis":
            state.update(hostName=f"{name}.redis.cache.windows.net", sslPort=6380)
        return rid, state

    def _kubernetes(self, args: pulumi.runtime.MockResourceArgs, state: dict) -> tuple[str, dict]:
        if "metadata" in state or args.typ.split(":")[1].count("/") == 1:
            metadata = dict(state.get("metadata") or {})
            metadata.setdefault("name", f"{args.name}-{_hex(args.name, 8)}")
            metadata.setdefault("uid", _uuid(args.typ + args.name))
            state["metadata"] = metadata
            namespace = metadata.get("namespace")
            rid = f"{namespace}/{metadata['name']}" if namespace else metadata["name"]
            if args.typ == "kubernetes:core/v1:Service":
                spec = dict(state.get("spec") or {})
                spec.setdefault(
                    "clusterIP", f"172.20.{int(_hex(args.name, 2), 16)}.{int(_hex(args.name + 'x', 2), 16)}"
                )
                state["spec"] = spec
            return rid, state
        # helm.v3.Release, helm.v4.Chart and friends: rendering happens in the provider.
        state.setdefault("name", state.get("name") or args.name)
        if args.typ == "kubernetes:helm.sh/v3:Release":
            state.setdefault(
                "status", {"name": state["name"], "namespace": state.get("namespace", "default"), "status": "deployed"}
            )
        return f"{args.name}-{_hex(args.name)}", state

    def _stack_reference(self, args: pulumi.runtime.MockResourceArgs, state: dict) -> tuple[str, dict]:
        from policies.preview.runner import STACK_REFERENCES_KEY, StackReferenceMissing

        name = str(state.get("name") or args.resource_id or args.name)
        if name not in self.stack_references:
            known = ", ".join(sorted(self.stack_references)) or "none"
            raise StackReferenceMissing(
                f"the program reads the outputs of stack {name!r} (pulumi.StackReference), which the offline preview "
                f"cannot reach; give them in the stack config under '{STACK_REFERENCES_KEY}': "
                f'{{"{name}": {{"outputName": value}}}} (stacks given: {known})'
            )
        return name, {"name": name, "outputs": dict(self.stack_references[name]), "secretOutputNames": []}

    # --- invokes -------------------------------------------------------------------------------
    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list] | dict:
        token = args.token
        answer = _INVOKES.get(token)
        if answer is not None:
            return answer(self, dict(args.args or {}))
        if token == "azure-native:containerservice:listManagedClusterUserCredentials":
            return {"kubeconfigs": [{"name": "clusterUser", "value": _aks_kubeconfig(args.args, self.region)}]}
        if token == "azure-native:redis:listRedisKeys":
            name = str(args.args.get("name", "redis"))
            return {
                "primaryKey": base64.b64encode(hashlib.sha256(name.encode()).digest()).decode(),
                "secondaryKey": base64.b64encode(hashlib.sha256((name + "2").encode()).digest()).decode(),
            }
        if token == "kubernetes:yaml:decode":
            import yaml

            return {"result": [d for d in yaml.safe_load_all(args.args.get("text", "")) if d]}
        raise NotImplementedError(
            f"the offline preview has no answer for the provider call {token!r}; "
            "build the value in the program, or extend policies/preview/mocks.py"
        )


def _region_code(region: str) -> str:
    """``me-central-1`` -> ``mec1``, ``ap-southeast-1`` -> ``apse1``: the prefix of the region's zone ids."""
    parts = region.split("-")
    if len(parts) != 3:
        return region
    short = {
        "east": "e",
        "west": "w",
        "north": "n",
        "south": "s",
        "central": "c",
        "southeast": "se",
        "northeast": "ne",
        "southwest": "sw",
        "northwest": "nw",
    }
    return f"{parts[0]}{short.get(parts[1], parts[1][:1])}{parts[2]}"


def _aws_region(mocks: PlatformMocks, args: dict[str, Any]) -> str:
    return str(args.get("region") or mocks.region)


def _get_ami(mocks: PlatformMocks, args: dict[str, Any]) -> dict[str, Any]:
    seed = json.dumps(args, sort_keys=True, default=str)
    image = f"ami-{_hex(seed, 17)}"
    region = _aws_region(mocks, args)
    owners = args.get("owners") or ["amazon"]
    name = next((str(f.get("values", [""])[0]) for f in args.get("filters") or [] if f.get("name") == "name"), "")
    name = (name or args.get("nameRegex") or "preview-image").replace("*", "2026.01.01")
    return {
        "id": image,
        "imageId": image,
        "arn": f"arn:aws:ec2:{region}::image/{image}",
        "name": name,
        "architecture": "x86_64",
        "ownerId": "137112412989" if owners[0] == "amazon" else str(owners[0]),
        "owners": owners,
        "mostRecent": bool(args.get("mostRecent")),
        "state": "available",
        "public": True,
        "rootDeviceName": "/dev/xvda",
        "rootDeviceType": "ebs",
        "virtualizationType": "hvm",
        "hypervisor": "xen",
        "imageType": "machine",
        "enaSupport": True,
        "creationDate": "2026-01-01T00:00:00.000Z",
        "blockDeviceMappings": [],
        "productCodes": [],
        "tags": args.get("tags") or {},
        "region": region,
        "filters": args.get("filters"),
        "platformDetails": "Linux/UNIX",
        "usageOperation": "RunInstances",
        "imageLocation": f"amazon/{name}",
        "imageOwnerAlias": "amazon",
        "bootMode": "uefi-preferred",
        "sriovNetSupport": "simple",
        "rootSnapshotId": f"snap-{_hex(image, 17)}",
        "imdsSupport": "v2.0",
    }


def _get_vpc(mocks: PlatformMocks, args: dict[str, Any]) -> dict[str, Any]:
    vpc = str(args.get("id") or f"vpc-{_hex(json.dumps(args, sort_keys=True, default=str), 17)}")
    region = _aws_region(mocks, args)
    cidr = str(args.get("cidrBlock") or "10.0.0.0/16")
    return {
        "id": vpc,
        "arn": f"arn:aws:ec2:{region}:{ACCOUNT_ID}:vpc/{vpc}",
        "cidrBlock": cidr,
        "cidrBlockAssociations": [
            {"associationId": f"vpc-cidr-assoc-{_hex(vpc, 17)}", "cidrBlock": cidr, "state": "associated"}
        ],
        "default": bool(args.get("default")),
        "dhcpOptionsId": f"dopt-{_hex(vpc, 17)}",
        "enableDnsHostnames": True,
        "enableDnsSupport": True,
        "enableNetworkAddressUsageMetrics": False,
        "instanceTenancy": "default",
        "ipv6AssociationId": "",
        "ipv6CidrBlock": "",
        "mainRouteTableId": f"rtb-{_hex(vpc, 17)}",
        "ownerId": ACCOUNT_ID,
        "state": "available",
        "tags": args.get("tags") or {},
        "region": region,
        "filters": args.get("filters"),
    }


def _get_subnets(mocks: PlatformMocks, args: dict[str, Any]) -> dict[str, Any]:
    seed = json.dumps(args, sort_keys=True, default=str)
    ids = [f"subnet-{_hex(seed + str(i), 17)}" for i in range(3)]
    return {
        "id": _aws_region(mocks, args),
        "ids": ids,
        "filters": args.get("filters"),
        "tags": args.get("tags"),
        "region": _aws_region(mocks, args),
        "vpcId": args.get("vpcId"),
    }


def _get_security_group(mocks: PlatformMocks, args: dict[str, Any]) -> dict[str, Any]:
    sg = str(args.get("id") or f"sg-{_hex(json.dumps(args, sort_keys=True, default=str), 17)}")
    region = _aws_region(mocks, args)
    vpc = str(args.get("vpcId") or f"vpc-{_hex(sg, 17)}")
    return {
        "id": sg,
        "arn": f"arn:aws:ec2:{region}:{ACCOUNT_ID}:security-group/{sg}",
        "name": str(args.get("name") or "default"),
        "description": "preview security group",
        "vpcId": vpc,
        "tags": args.get("tags") or {},
        "region": region,
        "filters": args.get("filters"),
    }


def _availability_zones(mocks: PlatformMocks, args: dict[str, Any]) -> dict[str, Any]:
    region = _aws_region(mocks, args)
    code = _region_code(region)
    return {
        "names": [f"{region}{s}" for s in "abc"],
        "zoneIds": [f"{code}-az{i}" for i in (1, 2, 3)],
        "id": region,
        "groupNames": [region],
        "state": args.get("state"),
        "region": region,
    }


def _policy_document(mocks: PlatformMocks, args: dict[str, Any]) -> dict[str, Any]:
    """The JSON policy the provider builds from the statements (names, order and single-value rules as it does)."""

    def values(items: Any) -> Any:
        items = list(items or [])
        return items[0] if len(items) == 1 else items

    def principals(entries: Any) -> Any:
        out: dict[str, Any] = {}
        for entry in entries or []:
            kind, ids = entry.get("type"), list(entry.get("identifiers") or [])
            if kind == "*" and ids == ["*"]:
                return "*"
            existing = out.get(kind)
            merged = ([existing] if isinstance(existing, str) else existing or []) + ids
            out[kind] = values(merged)
        return out

    statements = []
    for st in args.get("statements") or []:
        doc: dict[str, Any] = {}
        if st.get("sid"):
            doc["Sid"] = st["sid"]
        doc["Effect"] = st.get("effect") or "Allow"
        for key, out_key in (
            ("actions", "Action"),
            ("notActions", "NotAction"),
            ("resources", "Resource"),
            ("notResources", "NotResource"),
        ):
            if st.get(key):
                doc[out_key] = values(st[key])
        for key, out_key in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
            if st.get(key):
                doc[out_key] = principals(st[key])
        if st.get("conditions"):
            cond: dict[str, dict[str, Any]] = {}
            for c in st["conditions"]:
                cond.setdefault(c["test"], {})[c["variable"]] = values(c.get("values"))
            doc["Condition"] = cond
        statements.append(doc)
    policy: dict[str, Any] = {"Version": args.get("version") or "2012-10-17"}
    if args.get("policyId"):
        policy["Id"] = args["policyId"]
    policy["Statement"] = statements
    text = json.dumps(policy, indent=2)
    return {
        "id": _hex(text, 10),
        "json": text,
        "minifiedJson": json.dumps(policy, separators=(",", ":")),
        "statements": args.get("statements"),
        "version": policy["Version"],
        "policyId": args.get("policyId"),
    }


def _storage_keys(mocks: PlatformMocks, args: dict[str, Any]) -> dict[str, Any]:
    name = str(args.get("accountName", "storage"))
    key = lambda n: base64.b64encode(hashlib.sha512(f"{name}{n}".encode()).digest()).decode()
    return {
        "keys": [
            {"keyName": f"key{n}", "permissions": "FULL", "value": key(n), "creationTime": "2026-01-01T00:00:00Z"}
            for n in (1, 2)
        ]
    }


def _public_ip(mocks: PlatformMocks, args: dict[str, Any]) -> dict[str, Any]:
    name = str(args.get("publicIpAddressName", "pip"))
    rg = str(args.get("resourceGroupName", "rg"))
    ip = f"20.{int(_hex(name, 2), 16)}.{int(_hex(name + 'a', 2), 16)}.{int(_hex(name + 'b', 2), 16)}"
    return {
        "id": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{rg}/providers/Microsoft.Network/publicIPAddresses/{name}",
        "name": name,
        "ipAddress": ip,
        "location": mocks.azure_location,
        "publicIPAllocationMethod": "Static",
        "publicIPAddressVersion": "IPv4",
        "sku": {"name": "Standard", "tier": "Regional"},
        "provisioningState": "Succeeded",
        "type": "Microsoft.Network/publicIPAddresses",
        "etag": f'W/"{_uuid(name)}"',
        "resourceGuid": _uuid(name),
        "zones": [],
    }


def _resource_group(mocks: PlatformMocks, args: dict[str, Any]) -> dict[str, Any]:
    rg = str(args.get("resourceGroupName", "rg"))
    return {
        "id": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{rg}",
        "name": rg,
        "location": mocks.azure_location,
        "properties": {"provisioningState": "Succeeded"},
        "type": "Microsoft.Resources/resourceGroups",
        "tags": {},
        "azureApiVersion": "2024-03-01",
    }


_INVOKES: dict[str, Any] = {
    "aws:index/getCallerIdentity:getCallerIdentity": lambda m, a: {
        "accountId": ACCOUNT_ID,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/preview",
        "userId": "AIDAPREVIEW",
        "id": ACCOUNT_ID,
    },
    "aws:index/getRegion:getRegion": lambda m, a: {
        "name": _aws_region(m, a),
        "region": _aws_region(m, a),
        "id": _aws_region(m, a),
        "endpoint": f"ec2.{_aws_region(m, a)}.amazonaws.com",
        "description": _aws_region(m, a),
    },
    "aws:index/getPartition:getPartition": lambda m, a: {
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
        "id": "aws",
        "reverseDnsPrefix": "com.amazonaws",
    },
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    "aws:ec2/getAmi:getAmi": _get_ami,
    "aws:ec2/getVpc:getVpc": _get_vpc,
    "aws:ec2/getSubnets:getSubnets": _get_subnets,
    "aws:ec2/getSubnetIds:getSubnetIds": _get_subnets,
    "aws:ec2/getSecurityGroup:getSecurityGroup": _get_security_group,
    "aws:iam/getPolicyDocument:getPolicyDocument": _policy_document,
    "azure-native:authorization:getClientConfig": lambda m, a: {
        "clientId": _uuid("client"),
        "objectId": OBJECT_ID,
        "subscriptionId": SUBSCRIPTION_ID,
        "tenantId": TENANT_ID,
    },
    "azure-native:storage:listStorageAccountKeys": _storage_keys,
    "azure-native:network:getPublicIPAddress": _public_ip,
    "azure-native:resources:getResourceGroup": _resource_group,
}


_AZURE_NAMESPACES = {
    "resources": "Resources",
    "network": "Network",
    "containerservice": "ContainerService",
    "storage": "Storage",
    "keyvault": "KeyVault",
    "managedidentity": "ManagedIdentity",
    "operationalinsights": "OperationalInsights",
    "insights": "Insights",
    "authorization": "Authorization",
    "dbforpostgresql": "DBforPostgreSQL",
    "dbformysql": "DBforMySQL",
    "redis": "Cache",
    "cache": "Cache",
    "privatedns": "Network",
    "monitor": "Insights",
    "compute": "Compute",
}

# Azure child resources: the path of their collection under the provider namespace, filled from their inputs.
_AZURE_CHILDREN = {
    "Subnet": "virtualNetworks/{virtualNetworkName}/subnets",
    "Key": "vaults/{vaultName}/keys",
    "AgentPool": "managedClusters/{resourceName}/agentPools",
    "BlobContainer": "storageAccounts/{accountName}/blobServices/default/containers",
    "BlobContainerImmutabilityPolicy": "storageAccounts/{accountName}/blobServices/default/containers/{containerName}/immutabilityPolicies",
    "BlobServiceProperties": "storageAccounts/{accountName}/blobServices",
    "ManagementPolicy": "storageAccounts/{accountName}/managementPolicies",
    "VirtualNetworkLink": "privateDnsZones/{privateZoneName}/virtualNetworkLinks",
    "PrivateDnsZoneGroup": "privateEndpoints/{privateEndpointName}/privateDnsZoneGroups",
}

# Extension resources live under the resource they attach to: (input naming that scope, collection).
_AZURE_EXTENSIONS = {
    "RoleAssignment": ("scope", "roleAssignments"),
    "DiagnosticSetting": ("resourceUri", "diagnosticSettings"),
}

_AZURE_COLLECTIONS = {
    "PrivateZone": "privateDnsZones",
    "Workspace": "workspaces",
    "Vault": "vaults",
    "UserAssignedIdentity": "userAssignedIdentities",
}


def _azure_id(module: str, kind: str, name: str, state: dict[str, Any]) -> str:
    """The ARM resource id the real provider would report, children and extension resources included."""
    if kind == "ResourceGroup":
        return f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{name}"
    namespace = "Microsoft." + _AZURE_NAMESPACES.get(module, module[:1].upper() + module[1:])
    if kind in _AZURE_EXTENSIONS:
        scope_key, collection = _AZURE_EXTENSIONS[kind]
        return f"{state.get(scope_key, '')}/providers/{namespace}/{collection}/{name}"
    rg = state.get("resourceGroupName", f"rg-{name}")
    base = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{rg}/providers/{namespace}"
    if kind in _AZURE_CHILDREN:
        path = re.sub(r"\{(\w+)\}", lambda m: str(state.get(m.group(1), "parent")), _AZURE_CHILDREN[kind])
        return f"{base}/{path}/{name}"
    collection = _AZURE_COLLECTIONS.get(kind) or kind[:1].lower() + kind[1:] + ("" if kind.endswith("s") else "s")
    return f"{base}/{collection}/{name}"


def _aks_kubeconfig(args: dict[str, Any], region: str) -> str:
    """Base64 kubeconfig as listClusterUserCredential returns it for an Entra ID cluster (exec: kubelogin)."""
    import yaml

    cluster = str(args.get("resourceName", "aks"))
    server = f"https://{cluster}-{_hex(cluster, 8)}.{_uuid(cluster)}.privatelink.{region}.azmk8s.io:443"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster,
                "cluster": {"server": server, "certificate-authority-data": base64.b64encode(b"mock-ca").decode()},
            }
        ],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": f"clusterUser_{cluster}"}}],
        "current-context": cluster,
        "users": [
            {
                "name": f"clusterUser_{cluster}",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "kubelogin",
                        "args": [
                            "get-token",
                            "--login",
                            "azurecli",
                            "--server-id",
                            "6dae42f8-4368-4678-94ff-3960e28e3630",
                        ],
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
    }
    return base64.b64encode(yaml.safe_dump(doc).encode()).decode()


def _azure_name(kind: str, state: dict[str, Any]) -> str | None:
    """azure-native takes the resource's name from a type-specific input (``accountName``, ``vaultName``, ...).

    The input named after the kind wins (``agentPoolName`` over the cluster's ``resourceName`` on an AgentPool);
    ``resourceName`` names the resource only when nothing closer does.
    """
    if kind == "ResourceGroup" and isinstance(state.get("resourceGroupName"), str):
        return state["resourceGroupName"]
    candidates = []
    for key, value in state.items():
        if key.endswith("Name") and key != "resourceGroupName" and isinstance(value, str):
            base = key[: -len("Name")].lower()
            if base == kind.lower():
                return value
            if base and base != "resource" and (base in kind.lower() or kind.lower().startswith(base)):
                candidates.append((len(base), value))
    if candidates:
        return max(candidates)[1]
    if kind not in _AZURE_CHILDREN and isinstance(state.get("resourceName"), str):
        return state["resourceName"]
    return None

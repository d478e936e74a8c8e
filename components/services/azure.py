"""Azure parts of the platform services: the Feast registry on Azure Database for PostgreSQL flexible server, the
online store on Azure Cache for Redis, and Entra workload identities scoped to named containers.

Secure by default (explicit inputs, visible in the preview and to the policy gate):
- PostgreSQL: VNet-integrated through its own delegated subnet and a private DNS zone (public network access
  disabled); TLS enforced (``require_secure_transport=on``, TLS 1.2 minimum); data encrypted with the stack's
  Key Vault key (CMK) through the stack's encryption identity; backups kept 14 days and **not** geo-redundant, so
  they stay in the stack's UAE region; zone-redundant high availability in prod; generated admin password held
  only as a Pulumi secret and a Kubernetes Secret.
- MySQL (KFP's metadata, ``AzurePipelineMetadata``): the same, on its own delegated subnet and private DNS zone,
  ``require_secure_transport=ON`` and ``tls_version`` TLS 1.2/1.3.
- Redis: TLS only (non-TLS port off, TLS 1.2 minimum), public network access disabled, reached through a private
  endpoint in the services subnet with its private DNS zone. Feast authenticates with the cache's access key (read
  from the service at deploy time, a secret Output). Azure Cache for Redis encrypts data at rest with
  platform-managed keys; customer-managed keys exist only in the Enterprise tiers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components import versions
from components.errors import InputError
from components.services.identity import BucketGrant, IdentityBinding, check_grants

POSTGRES_PORT = 5432
REDIS_TLS_PORT = 6380
REGISTRY_DATABASE = "feast"
REGISTRY_USER = "feastadmin"
POSTGRES_DELEGATION = "Microsoft.DBforPostgreSQL/flexibleServers"
MYSQL_PORT = 3306
KFP_DB_USER = "kfpadmin"
MYSQL_DELEGATION = "Microsoft.DBforMySQL/flexibleServers"
REDIS_DNS_ZONE = "privatelink.redis.cache.windows.net"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
WORKLOAD_IDENTITY_AUDIENCE = "api://AzureADTokenExchange"


def free_subnet(vnet_cidr: str, used: Sequence[str], prefix: int = 28) -> str:
    """The first ``/prefix`` block of the VNet that overlaps none of the used ranges (for the delegated subnet)."""
    taken = [ipaddress.IPv4Network(c) for c in used]
    for candidate in ipaddress.IPv4Network(vnet_cidr).subnets(new_prefix=prefix):
        if not any(candidate.overlaps(t) for t in taken):
            return str(candidate)
    raise InputError(f"no free /{prefix} left in VNet {vnet_cidr} for a database delegated subnet")


def container_scope(uri: str, subscription_id: str, resource_group: str) -> str:
    """``abfss://container@account.dfs.core.windows.net`` -> the container's ARM id (a role assignment scope)."""
    if not uri.startswith("abfss://") or "@" not in uri:
        raise InputError(f"{uri!r} is not an abfss://container@account.dfs.core.windows.net URI")
    container, _, host = uri.removeprefix("abfss://").partition("@")
    account = host.split(".", 1)[0]
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/Microsoft.Storage/"
        f"storageAccounts/{account}/blobServices/default/containers/{container.split('/', 1)[0]}"
    )


class AzureIdentities:
    """Entra workload identity: a user-assigned identity per ServiceAccount, federated with that ServiceAccount
    only, holding Storage Blob Data Reader/Contributor on the named containers only."""

    def __init__(
        self,
        *,
        buckets: Mapping[str, pulumi.Input[str]],
        resource_group_name: pulumi.Input[str],
        location: str,
        oidc_issuer_url: pulumi.Input[str],
        tags: Mapping[str, str],
    ) -> None:
        from pulumi_azure_native import authorization

        self.buckets = dict(buckets)
        self.resource_group_name = resource_group_name
        self.location = location
        self.oidc_issuer_url = oidc_issuer_url
        self.tags = dict(tags)
        self.subscription_id = authorization.get_client_config_output().subscription_id

    def bind(
        self, name: str, *, namespace: str, service_account: str, grants: list[BucketGrant], parent: pulumi.Resource
    ) -> IdentityBinding:
        from pulumi_azure_native import managedidentity

        from components.azure.common import assign_role

        check_grants(grants, self.buckets)
        child = pulumi.ResourceOptions(parent=parent)
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=f"id-{name}",
            resource_group_name=self.resource_group_name,
            location=self.location,
            tags=self.tags,
            opts=child,
        )
        federation = managedidentity.FederatedIdentityCredential(
            f"{name}-federation",
            federated_identity_credential_resource_name=f"{namespace}-{service_account}",
            resource_name_=identity.name,
            resource_group_name=self.resource_group_name,
            issuer=self.oidc_issuer_url,
            subject=f"system:serviceaccount:{namespace}:{service_account}",
            audiences=[WORKLOAD_IDENTITY_AUDIENCE],
            opts=child,
        )
        for grant in grants:
            scope = pulumi.Output.all(self.buckets[grant.bucket], self.subscription_id, self.resource_group_name).apply(
                lambda v: container_scope(v[0], v[1], v[2])
            )
            role = STORAGE_BLOB_DATA_CONTRIBUTOR if grant.access == "write" else STORAGE_BLOB_DATA_READER
            assign_role(
                f"{name}-{grant.bucket}-{grant.access}",
                scope=scope,
                role=role,
                principal_id=identity.principal_id,
                principal_type="ServicePrincipal",
                subscription_id=self.subscription_id,
                parent=parent,
                depends_on=[federation],
            )
        return IdentityBinding(
            service_account_annotations={"azure.workload.identity/client-id": identity.client_id},
            pod_labels={"azure.workload.identity/use": "true"},
            identity=identity.client_id,
        )


@dataclass
class AzureDatabaseArgs:
    """Where and how a VNet-integrated, CMK-encrypted flexible server of the platform runs (Feast and KFP)."""

    name_prefix: str
    """Short, globally unique stem for server and cache names (``psql-<prefix>``, ``mysql-<prefix>``, ...)."""
    resource_group_name: pulumi.Input[str]
    location: str
    vnet_id: pulumi.Input[str]
    vnet_name: pulumi.Input[str]
    delegated_subnet_cidr: str
    """Free range of the VNet for the server's delegated subnet (see :func:`free_subnet`)."""
    key_uri: pulumi.Input[str]
    """Key Vault key for the server's data encryption (CMK)."""
    encryption_identity_id: pulumi.Input[str]
    """User-assigned identity allowed to use the key (Key Vault Crypto Service Encryption User)."""
    workspace_id: pulumi.Input[str]
    """Log Analytics workspace for the servers' diagnostics."""
    production: bool
    backup_retention_days: int = 14
    geo_redundant_backup: bool = False
    """Safeguard: False keeps backups in the stack's region (UAE data residency). True copies them to the paired
    region, outside the UAE for uaenorth: only with a documented residency exception."""
    high_availability: bool | None = None
    """None: zone-redundant HA in prod."""
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def high_availability_on(self) -> bool:
        return self.production if self.high_availability is None else self.high_availability

    def server_settings(self) -> dict[str, Any]:
        """Backup, HA, identity and CMK inputs every flexible server of the platform shares (PostgreSQL, MySQL)."""
        return {
            "backup": {
                "backup_retention_days": self.backup_retention_days,
                "geo_redundant_backup": "Enabled" if self.geo_redundant_backup else "Disabled",
            },
            "high_availability": {"mode": "ZoneRedundant" if self.high_availability_on else "Disabled"},
            "identity": user_assigned_identity(self.encryption_identity_id),
            "data_encryption": {
                "type": "AzureKeyVault",
                "primary_key_uri": self.key_uri,
                "primary_user_assigned_identity_id": self.encryption_identity_id,
            },
        }


@dataclass(kw_only=True)
class AzureFeatureDataArgs(AzureDatabaseArgs):
    services_subnet_id: pulumi.Input[str]
    """Where Redis's private endpoint goes."""
    postgres_sku: str = "Standard_D2ds_v5"
    postgres_storage_gb: int = 128
    redis_sku: str = "Premium"
    redis_capacity: int = 1
    redis_public_network_access: bool = False
    """Safeguard switch; False: private endpoint only."""


def private_zone(resource_name: str, key: str, zone_name: str, args: AzureDatabaseArgs, parent: pulumi.Resource):
    """A private DNS zone linked to the stack's VNet (no auto-registration)."""
    from pulumi_azure_native import privatedns

    child = pulumi.ResourceOptions(parent=parent)
    zone = privatedns.PrivateZone(
        resource_name,
        private_zone_name=zone_name,
        resource_group_name=args.resource_group_name,
        location="global",
        tags=dict(args.tags),
        opts=child,
    )
    privatedns.VirtualNetworkLink(
        f"{resource_name}-link",
        virtual_network_link_name=f"link-{key}",
        private_zone_name=zone.name,
        resource_group_name=args.resource_group_name,
        location="global",
        virtual_network={"id": args.vnet_id},
        registration_enabled=False,
        tags=dict(args.tags),
        opts=child,
    )
    return zone


def delegated_subnet(resource_name: str, key: str, delegation: str, what: str, args: AzureDatabaseArgs, parent):
    """The server's own subnet (``snet-<key>``), delegated to its service, internet inbound denied by its NSG."""
    from pulumi_azure_native import network

    from components.azure.common import deny_internet_inbound

    child = pulumi.ResourceOptions(parent=parent)
    nsg = network.NetworkSecurityGroup(
        f"{resource_name}-nsg",
        network_security_group_name=f"nsg-{key}",
        resource_group_name=args.resource_group_name,
        location=args.location,
        security_rules=[deny_internet_inbound(f"The {what} is reached from inside the VNet only.")],
        tags=dict(args.tags),
        opts=child,
    )
    return network.Subnet(
        f"{resource_name}-subnet",
        subnet_name=f"snet-{key}",
        resource_group_name=args.resource_group_name,
        virtual_network_name=args.vnet_name,
        address_prefix=args.delegated_subnet_cidr,
        delegations=[{"name": f"{key}-flexible", "service_name": delegation}],
        network_security_group={"id": nsg.id},
        default_outbound_access=False,
        opts=child,
    )


def user_assigned_identity(identity_id: pulumi.Input[str]) -> pulumi.Output[dict]:
    """A flexible server's ``identity``: the API keys user-assigned identities by id (a map), so the id must be
    known first."""
    return pulumi.Output.from_input(identity_id).apply(
        lambda i: {"type": "UserAssigned", "user_assigned_identities": {i: {}}}
    )


class AzureFeatureData(pulumi.ComponentResource):
    """PostgreSQL flexible server (Feast registry) and Azure Cache for Redis (online store), both private."""

    registry_host: pulumi.Output[str]
    registry_password: pulumi.Output[str]
    redis_host: pulumi.Output[str]
    redis_password: pulumi.Output[str]

    def __init__(self, name: str, args: AzureFeatureDataArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:services:AzureFeatureData", name, None, opts)
        from pulumi_azure_native import dbforpostgresql, redis
        from pulumi_random import RandomPassword

        from components.azure.common import private_endpoint, send_diagnostics

        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        rg = args.resource_group_name
        server_name = f"psql-{args.name_prefix}-feast"

        subnet = delegated_subnet(f"{name}-postgres", "postgres", POSTGRES_DELEGATION, "registry database", args, self)
        postgres_zone = private_zone(
            f"{name}-dns-postgres", "postgres", f"{server_name}.private.postgres.database.azure.com", args, self
        )
        password = RandomPassword(f"{name}-registry-password", length=40, special=False, opts=child)
        server = dbforpostgresql.Server(
            f"{name}-registry",
            server_name=server_name,
            resource_group_name=rg,
            location=args.location,
            version=versions.AZURE_POSTGRES_VERSION,
            sku={"name": args.postgres_sku, "tier": "GeneralPurpose"},
            storage={"storage_size_gb": args.postgres_storage_gb, "auto_grow": "Enabled"},
            administrator_login=REGISTRY_USER,
            administrator_login_password=pulumi.Output.secret(password.result),
            auth_config={"password_auth": "Enabled"},
            network={
                "delegated_subnet_resource_id": subnet.id,
                "private_dns_zone_arm_resource_id": postgres_zone.id,
                "public_network_access": "Disabled",
            },
            **args.server_settings(),
            tags=tags,
            opts=child,
        )
        for setting, value in (
            ("require_secure_transport", "on"),
            ("ssl_min_protocol_version", "TLSv1.2"),
            ("log_connections", "on"),
        ):
            dbforpostgresql.Configuration(
                f"{name}-{setting.replace('_', '-')}",
                configuration_name=setting,
                server_name=server.name,
                resource_group_name=rg,
                value=value,
                source="user-override",
                opts=child,
            )
        dbforpostgresql.Database(
            f"{name}-registry-db",
            database_name=REGISTRY_DATABASE,
            server_name=server.name,
            resource_group_name=rg,
            charset="UTF8",
            collation="en_US.utf8",
            opts=child,
        )
        send_diagnostics(
            f"{name}-registry-diagnostics", resource_id=server.id, workspace_id=args.workspace_id, parent=self
        )

        premium = args.redis_sku == "Premium"
        cache = redis.Redis(
            f"{name}-online",
            name=f"redis-{args.name_prefix}-feast",
            resource_group_name=rg,
            location=args.location,
            sku={"name": args.redis_sku, "family": "P" if premium else "C", "capacity": args.redis_capacity},
            redis_version="6",
            enable_non_ssl_port=False,
            minimum_tls_version="1.2",
            public_network_access="Enabled" if args.redis_public_network_access else "Disabled",
            disable_access_key_authentication=False,
            replicas_per_primary=1 if premium else None,
            zones=["1", "2"] if premium and args.production else None,
            tags=tags,
            opts=child,
        )
        redis_zone = private_zone(f"{name}-dns-redis", "redis", REDIS_DNS_ZONE, args, self)
        private_endpoint(
            f"{name}-online",
            resource_id=cache.id,
            group_id="redisCache",
            subnet_id=args.services_subnet_id,
            dns_zone_id=redis_zone.id,
            resource_group_name=rg,
            location=args.location,
            tags=tags,
            parent=self,
        )
        send_diagnostics(
            f"{name}-online-diagnostics", resource_id=cache.id, workspace_id=args.workspace_id, parent=self
        )
        keys = redis.list_redis_keys_output(name=cache.name, resource_group_name=rg)

        self.registry_host = server.fully_qualified_domain_name
        self.registry_password = pulumi.Output.secret(password.result)
        self.redis_host = cache.host_name
        self.redis_password = pulumi.Output.secret(keys.primary_key)
        self.register_outputs({"registryHost": self.registry_host, "redisHost": self.redis_host})


@dataclass(kw_only=True)
class AzurePipelineMetadataArgs(AzureDatabaseArgs):
    mysql_sku: str = "Standard_D2ds_v4"
    mysql_storage_gb: int = 64


class AzurePipelineMetadata(pulumi.ComponentResource):
    """Azure Database for MySQL flexible server holding Kubeflow Pipelines' metadata (KFP 2.5 speaks MySQL only):
    VNet-integrated through its own delegated subnet and private DNS zone, public access disabled, TLS required,
    CMK-encrypted like the registry, backups in the region only."""

    host: pulumi.Output[str]
    username: pulumi.Output[str]
    password: pulumi.Output[str]

    def __init__(self, name: str, args: AzurePipelineMetadataArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:services:AzurePipelineMetadata", name, None, opts)
        from pulumi_azure_native import dbformysql
        from pulumi_random import RandomPassword

        from components.azure.common import send_diagnostics

        child = pulumi.ResourceOptions(parent=self)
        rg = args.resource_group_name
        server_name = f"mysql-{args.name_prefix}-kfp"
        subnet = delegated_subnet(f"{name}-mysql", "mysql", MYSQL_DELEGATION, "KFP metadata database", args, self)
        zone = private_zone(f"{name}-dns-mysql", "mysql", f"{server_name}.private.mysql.database.azure.com", args, self)
        password = RandomPassword(f"{name}-password", length=40, special=False, opts=child)
        server = dbformysql.Server(
            name,
            server_name=server_name,
            resource_group_name=rg,
            location=args.location,
            version=versions.AZURE_MYSQL_VERSION,
            sku={"name": args.mysql_sku, "tier": "GeneralPurpose"},
            storage={"storage_size_gb": args.mysql_storage_gb, "auto_grow": "Enabled"},
            administrator_login=KFP_DB_USER,
            administrator_login_password=pulumi.Output.secret(password.result),
            network={
                "delegated_subnet_resource_id": subnet.id,
                "private_dns_zone_resource_id": zone.id,
                "public_network_access": "Disabled",
            },
            **args.server_settings(),
            tags=dict(args.tags),
            opts=child,
        )
        for setting, value in (("require_secure_transport", "ON"), ("tls_version", "TLSv1.2,TLSv1.3")):
            dbformysql.Configuration(
                f"{name}-{setting.replace('_', '-')}",
                configuration_name=setting,
                server_name=server.name,
                resource_group_name=rg,
                value=value,
                source="user-override",
                opts=child,
            )
        send_diagnostics(f"{name}-diagnostics", resource_id=server.id, workspace_id=args.workspace_id, parent=self)
        self.host = server.fully_qualified_domain_name
        self.username = pulumi.Output.secret(KFP_DB_USER)
        self.password = pulumi.Output.secret(password.result)
        self.register_outputs({"host": self.host})

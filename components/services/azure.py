"""Azure parts of the platform services: the Feast registry on Azure Database for PostgreSQL flexible server, the
online store on Azure Cache for Redis, and Entra workload identities scoped to named containers.

Secure by default (explicit inputs, visible in the preview and to the policy gate):
- PostgreSQL: VNet-integrated through its own delegated subnet and a private DNS zone (public network access
  disabled); TLS enforced (``require_secure_transport=on``, TLS 1.2 minimum); data encrypted with the stack's
  Key Vault key (CMK) through the stack's encryption identity; backups kept 14 days and **not** geo-redundant, so
  they stay in the stack's UAE region; zone-redundant high availability in prod; generated admin password held
  only as a Pulumi secret and a Kubernetes Secret.
- Redis: TLS only (non-TLS port off, TLS 1.2 minimum), public network access disabled, reached through a private
  endpoint in the services subnet with its private DNS zone. Feast authenticates with the cache's access key (read
  from the service at deploy time, a secret Output). Azure Cache for Redis encrypts data at rest with
  platform-managed keys; customer-managed keys exist only in the Enterprise tiers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from components import versions
from components.services.identity import BucketGrant, IdentityBinding, check_grants

POSTGRES_PORT = 5432
REDIS_TLS_PORT = 6380
REGISTRY_DATABASE = "feast"
REGISTRY_USER = "feastadmin"
POSTGRES_DELEGATION = "Microsoft.DBforPostgreSQL/flexibleServers"
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
    raise ValueError(f"no free /{prefix} left in VNet {vnet_cidr} for the PostgreSQL delegated subnet")


def container_scope(uri: str, subscription_id: str, resource_group: str) -> str:
    """``abfss://container@account.dfs.core.windows.net`` -> the container's ARM id (a role assignment scope)."""
    if not uri.startswith("abfss://") or "@" not in uri:
        raise ValueError(f"{uri!r} is not an abfss://container@account.dfs.core.windows.net URI")
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
class AzureFeatureDataArgs:
    name_prefix: str
    """Short, globally unique stem for server and cache names (``psql-<prefix>``, ``redis-<prefix>``)."""
    resource_group_name: pulumi.Input[str]
    location: str
    vnet_id: pulumi.Input[str]
    vnet_name: pulumi.Input[str]
    delegated_subnet_cidr: str
    """Free range of the VNet for the PostgreSQL delegated subnet (see :func:`free_subnet`)."""
    services_subnet_id: pulumi.Input[str]
    """Where Redis's private endpoint goes."""
    key_uri: pulumi.Input[str]
    """Key Vault key for PostgreSQL data encryption (CMK)."""
    encryption_identity_id: pulumi.Input[str]
    """User-assigned identity allowed to use the key (Key Vault Crypto Service Encryption User)."""
    workspace_id: pulumi.Input[str]
    """Log Analytics workspace for the servers' diagnostics."""
    production: bool
    backup_retention_days: int = 14
    geo_redundant_backup: bool = False
    """Safeguard: False keeps backups in the stack's region (UAE data residency). True copies them to the paired
    region, outside the UAE for uaenorth: only with a documented residency exception."""
    postgres_sku: str = "Standard_D2ds_v5"
    postgres_storage_gb: int = 128
    high_availability: bool | None = None
    """None: zone-redundant HA in prod."""
    redis_sku: str = "Premium"
    redis_capacity: int = 1
    redis_public_network_access: bool = False
    """Safeguard switch; False: private endpoint only."""
    tags: Mapping[str, str] = field(default_factory=dict)


class AzureFeatureData(pulumi.ComponentResource):
    """PostgreSQL flexible server (Feast registry) and Azure Cache for Redis (online store), both private."""

    registry_host: pulumi.Output[str]
    registry_password: pulumi.Output[str]
    redis_host: pulumi.Output[str]
    redis_password: pulumi.Output[str]

    def __init__(self, name: str, args: AzureFeatureDataArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:services:AzureFeatureData", name, None, opts)
        from pulumi_azure_native import dbforpostgresql, network, privatedns, redis
        from pulumi_random import RandomPassword

        from components.azure.common import deny_internet_inbound, private_endpoint, send_diagnostics

        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        rg = args.resource_group_name
        server_name = f"psql-{args.name_prefix}-feast"

        nsg = network.NetworkSecurityGroup(
            f"{name}-postgres-nsg",
            network_security_group_name="nsg-postgres",
            resource_group_name=rg,
            location=args.location,
            security_rules=[deny_internet_inbound("The registry database is reached from inside the VNet only.")],
            tags=tags,
            opts=child,
        )
        subnet = network.Subnet(
            f"{name}-postgres-subnet",
            subnet_name="snet-postgres",
            resource_group_name=rg,
            virtual_network_name=args.vnet_name,
            address_prefix=args.delegated_subnet_cidr,
            delegations=[{"name": "postgres-flexible", "service_name": POSTGRES_DELEGATION}],
            network_security_group={"id": nsg.id},
            default_outbound_access=False,
            opts=child,
        )

        def private_zone(key: str, zone_name: str):
            zone = privatedns.PrivateZone(
                f"{name}-dns-{key}",
                private_zone_name=zone_name,
                resource_group_name=rg,
                location="global",
                tags=tags,
                opts=child,
            )
            privatedns.VirtualNetworkLink(
                f"{name}-dns-{key}-link",
                virtual_network_link_name=f"link-{key}",
                private_zone_name=zone.name,
                resource_group_name=rg,
                location="global",
                virtual_network={"id": args.vnet_id},
                registration_enabled=False,
                tags=tags,
                opts=child,
            )
            return zone

        postgres_zone = private_zone("postgres", f"{server_name}.private.postgres.database.azure.com")
        password = RandomPassword(f"{name}-registry-password", length=40, special=False, opts=child)
        ha = args.production if args.high_availability is None else args.high_availability
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
            backup={
                "backup_retention_days": args.backup_retention_days,
                "geo_redundant_backup": "Enabled" if args.geo_redundant_backup else "Disabled",
            },
            high_availability={"mode": "ZoneRedundant" if ha else "Disabled"},
            network={
                "delegated_subnet_resource_id": subnet.id,
                "private_dns_zone_arm_resource_id": postgres_zone.id,
                "public_network_access": "Disabled",
            },
            # The server API keys user-assigned identities by id (a map), so the id must be known first.
            identity=pulumi.Output.from_input(args.encryption_identity_id).apply(
                lambda identity_id: {"type": "UserAssigned", "user_assigned_identities": {identity_id: {}}}
            ),
            data_encryption={
                "type": "AzureKeyVault",
                "primary_key_uri": args.key_uri,
                "primary_user_assigned_identity_id": args.encryption_identity_id,
            },
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
        redis_zone = private_zone("redis", REDIS_DNS_ZONE)
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

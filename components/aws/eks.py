"""EKS control plane: private API endpoint, KMS envelope encryption of secrets, full control-plane logging,
IRSA through an OIDC provider, access entries that bind the enterprise IdP groups, and the ``vpc-cni`` managed
add-on with NetworkPolicy enforcement on (EKS enforces no NetworkPolicy otherwise)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components import versions
from components.aws._iam import assume_role_policy, managed_policy, policy
from components.errors import InputError

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
ACCESS_POLICY = "arn:aws:eks::aws:cluster-access-policy/"
ADMIN_POLICY = ACCESS_POLICY + "AmazonEKSClusterAdminPolicy"
EDIT_POLICY = ACCESS_POLICY + "AmazonEKSEditPolicy"
VIEW_POLICY = ACCESS_POLICY + "AmazonEKSViewPolicy"
VPC_CNI_ADDON = "vpc-cni"
NETWORK_POLICY_CONFIGURATION = json.dumps({"enableNetworkPolicy": "true"})
"""``vpc-cni`` configuration values: run the network policy agent, which enforces Kubernetes NetworkPolicy."""


def idp_group_role_arn(group: str, account_id: str) -> str:
    """IAM role an enterprise IdP group signs in as.

    A full ARN is used as given (e.g. an IAM Identity Center permission-set role); a bare name is the IAM role
    of that name that the IdP's SAML federation maps the group to.
    """
    return group if group.startswith("arn:") else f"arn:aws:iam::{account_id}:role/{group}"


@dataclass
class EksClusterArgs:
    cluster_name: str
    kubernetes_version: str
    region: str
    account_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets for the control-plane network interfaces."""
    kms_key_arn: pulumi.Input[str]
    """Key for secrets envelope encryption and the control-plane log group."""
    service_cidr: str
    platform_admin_groups: Sequence[str]
    """IdP groups with cluster-admin (AmazonEKSClusterAdminPolicy, cluster scope)."""
    ml_engineer_groups: Sequence[str]
    """IdP groups with edit rights in ``team_namespaces`` (AmazonEKSEditPolicy, namespace scope)."""
    data_scientist_groups: Sequence[str]
    """IdP groups with read rights in ``team_namespaces`` (AmazonEKSViewPolicy, namespace scope)."""
    team_namespaces: Sequence[str]
    """Namespaces the ml-engineer and data-scientist groups work in."""
    public_endpoint: bool = False
    """Safeguard switch: expose the Kubernetes API on the internet (limited to ``public_access_cidrs``)."""
    public_access_cidrs: Sequence[str] = ()
    """With ``public_endpoint``: the CIDRs allowed to reach it; required, the AWS default is 0.0.0.0/0."""
    creator_admin: bool = True
    """Give the identity that runs ``pulumi up`` cluster-admin (an access entry EKS makes), so the same program can
    install the in-cluster layers. Set False when the deployer signs in as one of the platform-admin roles."""
    deletion_protection: bool = True
    vpc_cni_version: str = versions.EKS_VPC_CNI_ADDON
    """Pinned ``vpc-cni`` add-on version; the add-on runs with NetworkPolicy enforcement on."""
    log_retention_days: int = 365
    tags: Mapping[str, str] = field(default_factory=dict)


class EksCluster(pulumi.ComponentResource):
    """The EKS cluster, its IAM role, encrypted log group, OIDC provider and access entries."""

    cluster: Any
    name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    certificate_authority: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    """Issuer without ``https://``, the form IRSA trust policies use."""
    oidc_provider_arn: pulumi.Output[str]

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:EksCluster", name, None, opts)
        if args.public_endpoint and not args.public_access_cidrs:
            raise InputError(
                "EksClusterArgs.public_access_cidrs: a public endpoint needs the CIDRs allowed to reach it"
            )
        from pulumi_aws import cloudwatch, eks, iam

        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        role = iam.Role(
            f"{name}-cluster",
            assume_role_policy=assume_role_policy("eks.amazonaws.com", args.account_id),
            tags=tags,
            opts=child,
        )
        attachment = iam.RolePolicyAttachment(
            f"{name}-cluster", role=role.name, policy_arn=managed_policy("AmazonEKSClusterPolicy"), opts=child
        )
        key_use = iam.RolePolicy(
            f"{name}-cluster-kms",
            role=role.id,
            policy=pulumi.Output.from_input(args.kms_key_arn).apply(
                lambda arn: policy(
                    [
                        {
                            "Effect": "Allow",
                            "Action": [
                                "kms:Encrypt",
                                "kms:Decrypt",
                                "kms:DescribeKey",
                                "kms:ListGrants",
                                "kms:CreateGrant",
                            ],
                            "Resource": arn,
                        }
                    ]
                )
            ),
            opts=child,
        )
        # EKS would create this group itself, unencrypted and kept forever; create it first, encrypted.
        log_group = cloudwatch.LogGroup(
            f"{name}-control-plane",
            name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            tags=tags,
            opts=child,
        )
        self.cluster = eks.Cluster(
            name,
            name=args.cluster_name,
            version=args.kubernetes_version,
            role_arn=role.arn,
            vpc_config={
                "subnet_ids": list(args.subnet_ids),
                "endpoint_private_access": True,
                "endpoint_public_access": args.public_endpoint,
                **({"public_access_cidrs": list(args.public_access_cidrs)} if args.public_endpoint else {}),
            },
            access_config={
                "authentication_mode": "API",
                "bootstrap_cluster_creator_admin_permissions": args.creator_admin,
            },
            encryption_config={"provider": {"key_arn": args.kms_key_arn}, "resources": ["secrets"]},
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            kubernetes_network_config={"service_ipv4_cidr": args.service_cidr, "ip_family": "ipv4"},
            deletion_protection=args.deletion_protection,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment, key_use, log_group]),
        )
        self.name = self.cluster.name
        self.endpoint = self.cluster.endpoint
        self.certificate_authority = self.cluster.certificate_authority.apply(lambda ca: ca["data"])
        issuer = self.cluster.identities.apply(lambda ids: ids[0]["oidcs"][0]["issuer"])
        self.oidc_issuer_url = issuer.apply(lambda url: url.removeprefix("https://"))
        oidc = iam.OpenIdConnectProvider(name, url=issuer, client_id_lists=["sts.amazonaws.com"], tags=tags, opts=child)
        self.oidc_provider_arn = oidc.arn
        self.network_policy_addon = eks.Addon(
            f"{name}-{VPC_CNI_ADDON}",
            cluster_name=self.cluster.name,
            addon_name=VPC_CNI_ADDON,
            addon_version=args.vpc_cni_version,
            configuration_values=NETWORK_POLICY_CONFIGURATION,
            # EKS pre-installs a self-managed vpc-cni: take it over, and keep the pinned configuration on updates
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=tags,
            opts=child,
        )
        self._bind_groups(name, args, tags)
        self.register_outputs({"name": self.name, "endpoint": self.endpoint, "oidcProviderArn": self.oidc_provider_arn})

    def _bind_groups(self, name: str, args: EksClusterArgs, tags: dict[str, str]) -> None:
        """One access entry per IdP group; its Kubernetes group is the IdP group as configured, the subject the
        baseline's RBAC bindings name, plus the EKS access policy for the role."""
        from pulumi_aws import eks

        child = pulumi.ResourceOptions(parent=self)
        cluster_scope = {"type": "cluster"}
        team_scope = {"type": "namespace", "namespaces": list(args.team_namespaces)}
        bindings = [(g, "platform-admin", ADMIN_POLICY, cluster_scope) for g in args.platform_admin_groups]
        bindings += [(g, "ml-engineer", EDIT_POLICY, team_scope) for g in args.ml_engineer_groups]
        bindings += [(g, "data-scientist", VIEW_POLICY, team_scope) for g in args.data_scientist_groups]
        for group, role, policy_arn, scope in bindings:
            principal = pulumi.Output.from_input(args.account_id).apply(
                lambda acct, g=group: idp_group_role_arn(g, acct)
            )
            label = f"{name}-{role}-{group.rsplit('/', 1)[-1]}"
            entry = eks.AccessEntry(
                label,
                cluster_name=self.cluster.name,
                principal_arn=principal,
                type="STANDARD",
                kubernetes_groups=[group],
                tags=tags,
                opts=child,
            )
            eks.AccessPolicyAssociation(
                label,
                cluster_name=self.cluster.name,
                principal_arn=entry.principal_arn,
                policy_arn=policy_arn,
                access_scope=scope,
                opts=child,
            )

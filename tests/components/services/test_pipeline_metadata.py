"""KFP's metadata (pipeline, cache and ML Metadata databases) under mocks: on the clouds in a managed MySQL that is
encrypted with the stack's key, private, TLS-only and backed up in-region, with KFP pointed at it through Pulumi
secrets; on-prem upstream's in-cluster MySQL, untouched."""

from __future__ import annotations

import json

import pytest

from components.services import kfp
from tests.components.services.conftest import ServicesPreview, preview_services

RDS = "aws:rds/instance:Instance"
MYSQL = "azure-native:dbformysql:Server"
MYSQL_CONFIG = "azure-native:dbformysql:Configuration"
CONFIG_PATCH = "kubernetes:core/v1:ConfigMapPatch"
SECRET_PATCH = "kubernetes:core/v1:SecretPatch"
DEPLOYMENT_PATCH = "kubernetes:apps/v1:DeploymentPatch"
VPC_CIDR = "10.40.0.0/16"


def test_aws_metadata_database_is_encrypted_private_and_tls_only(aws: ServicesPreview) -> None:
    db = aws.one(RDS, "kfp-metadata").inputs
    key = aws.result.outputs["kmsKeyArn"]
    assert db["engine"] == "mysql" and db["engineVersion"] == "8.0"
    assert db["storageEncrypted"] is True and db["kmsKeyId"] == key
    assert db["performanceInsightsKmsKeyId"] == key
    assert db["publiclyAccessible"] is False
    assert db["password"] == "[secret]"
    params = aws.one("aws:rds/parameterGroup:ParameterGroup", "kfp-metadata").inputs
    assert params["family"] == "mysql8.0"
    assert {"name": "require_secure_transport", "value": "1"} in params["parameters"]
    assert db["parameterGroupName"] == params["name"]
    subnets = aws.one("aws:rds/subnetGroup:SubnetGroup", "kfp-metadata").inputs["subnetIds"]
    assert len(subnets) == 3 and all(s.startswith("subnet-") for s in subnets)
    sg = aws.one("aws:ec2/securityGroup:SecurityGroup", "kfp-metadata").inputs
    assert [(r["fromPort"], r["toPort"], r["cidrBlocks"]) for r in sg["ingress"]] == [(3306, 3306, [VPC_CIDR])]
    assert sg["egress"] == []


def test_aws_metadata_backups_stay_in_region_and_prod_is_protected(aws: ServicesPreview) -> None:
    db = aws.one(RDS, "kfp-metadata").inputs
    assert db["backupRetentionPeriod"] >= 7 and db["backupTarget"] == "region"
    assert db["multiAz"] is True and db["deletionProtection"] is True
    dev = preview_services("aws-uae-prod", {"environment": "dev"}).one(RDS, "kfp-metadata").inputs
    assert dev["multiAz"] is False and dev["deletionProtection"] is False and dev["storageEncrypted"] is True


def test_azure_metadata_server_is_private_encrypted_and_keeps_backups_in_the_uae(azure: ServicesPreview) -> None:
    server = azure.one(MYSQL, "kfp-metadata").inputs
    assert server["network"]["publicNetworkAccess"] == "Disabled"
    subnet = azure.one("azure-native:network:Subnet", "kfp-metadata-mysql-subnet").inputs
    assert subnet["delegations"][0]["serviceName"] == "Microsoft.DBforMySQL/flexibleServers"
    postgres_subnet = azure.one("azure-native:network:Subnet", "feast-data-postgres-subnet").inputs
    assert subnet["addressPrefix"] != postgres_subnet["addressPrefix"]
    zone = azure.one("azure-native:privatedns:PrivateZone", "kfp-metadata-dns-mysql").inputs
    assert zone["privateZoneName"].endswith(".private.mysql.database.azure.com")
    registry = azure.one("azure-native:dbforpostgresql:Server", "feast-data-registry").inputs
    assert server["dataEncryption"]["type"] == "AzureKeyVault"
    assert server["dataEncryption"]["primaryKeyURI"] == registry["dataEncryption"]["primaryKeyURI"]  # the stack's key
    assert server["identity"] == registry["identity"]
    assert server["backup"]["geoRedundantBackup"] == "Disabled" and server["backup"]["backupRetentionDays"] >= 7
    assert server["administratorLoginPassword"] == "[secret]"
    settings = {c.inputs["configurationName"]: c.inputs["value"] for c in azure.of_type(MYSQL_CONFIG)}
    assert settings["require_secure_transport"] == "ON"
    assert "TLSv1.0" not in settings["tls_version"] and "TLSv1.1" not in settings["tls_version"]


@pytest.mark.parametrize(
    ("stack", "host_suffix", "tls"),
    [("aws", "rds.amazonaws.com", "true"), ("azure", ".mysql.database.azure.com", "true")],
)
def test_kfp_uses_the_managed_database_through_secrets(
    stack: str, host_suffix: str, tls: str, request: pytest.FixtureRequest
) -> None:
    preview: ServicesPreview = request.getfixturevalue(stack)
    config = preview.one(CONFIG_PATCH, "services-kfp-db-config").inputs
    assert config["metadata"]["name"] == kfp.INSTALL_CONFIG and config["metadata"]["namespace"] == kfp.NAMESPACE
    assert config["data"]["dbHost"].endswith(host_suffix) and config["data"]["dbPort"] == "3306"
    assert {config["data"][k] for k in ("pipelineDb", "cacheDb", "mlmdDb")} == {"mlpipeline", "cachedb", "metadb"}
    secret = preview.one(SECRET_PATCH, "services-kfp-db-credentials").inputs
    assert secret["metadata"]["name"] == kfp.DB_SECRET
    assert secret["stringData"] == "[secret]"  # the whole map: username and password are Pulumi secrets
    api = preview.one(DEPLOYMENT_PATCH, "services-kfp-api-server-db-tls").inputs
    env = api["spec"]["template"]["spec"]["containers"][0]["env"]
    assert json.loads(env[0]["value"]) == {"tls": tls}
    # verified against the mounted CA bundle (RDS's on AWS, the pinned roots on Azure) added to Go's trust store
    assert env[1] == {"name": "SSL_CERT_DIR", "value": "/etc/ssl/certs:/etc/mlops/db-ca"}
    assert api["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] == [
        {"name": "db-ca", "mountPath": "/etc/mlops/db-ca", "readOnly": True}
    ]
    assert api["spec"]["template"]["spec"]["volumes"] == [
        {"name": "db-ca", "configMap": {"name": "database-ca-bundle", "defaultMode": 0o444}}
    ]
    mysql = preview.one(DEPLOYMENT_PATCH, "services-kfp-in-cluster-mysql-off").inputs
    assert mysql["metadata"]["name"] == kfp.IN_CLUSTER_MYSQL and mysql["spec"]["replicas"] == 0


def test_kfp_reaches_mysql_inside_the_vpc_only(aws: ServicesPreview) -> None:
    egress = aws.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "services-kfp-egress").inputs["spec"]["egress"]
    to_mysql = [r for r in egress if {"protocol": "TCP", "port": 3306} in r["ports"]]
    assert [r["to"] for r in to_mysql] == [[{"ipBlock": {"cidr": VPC_CIDR}}]]


def test_onprem_keeps_upstreams_in_cluster_mysql(onprem: ServicesPreview) -> None:
    assert not onprem.of_type(SECRET_PATCH) and not onprem.of_type(DEPLOYMENT_PATCH)
    kfp_patches = [p.name for p in onprem.of_type(CONFIG_PATCH) if p.name.startswith("services-kfp")]
    assert kfp_patches == ["services-kfp-launcher"]
    assert not onprem.of_type(RDS) and not onprem.of_type(MYSQL)

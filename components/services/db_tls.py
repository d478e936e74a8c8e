"""The CA bundle every database and cache client of a stack verifies its server with.

One ConfigMap per namespace whose pods connect (``feature-store`` for the feature server, ``kubeflow`` for
pipeline steps and KFP's API server), mounted read-only at :data:`MOUNT_DIR`:

- ``postgres-ca.pem``: the Feast registry's PostgreSQL (libpq ``sslmode=verify-full sslrootcert=...``), and on AWS
  KFP's MySQL (the RDS CA also signs RDS for MySQL);
- ``redis-ca.pem``: the Feast online store's Redis (redis-py ``ssl_cert_reqs=required ssl_ca_certs=...``).

Where the anchors come from, per target:

- **aws**: RDS certificates chain to Amazon's RDS CAs, which no public trust store holds and no AWS API returns.
  :func:`rds_ca_bundle` runs ``rds_ca_fetch.sh`` at ``pulumi up`` (pulumi-command ``local.Command``), which
  downloads the regional bundle from ``truststore.pki.rds.amazonaws.com`` over HTTPS and fails unless it is PEM
  certificates only; its stdout is the ConfigMap's ``postgres-ca.pem`` (unknown in a preview, as in a real one).
  ElastiCache chains to Amazon Trust Services' public roots: pinned in ``ca/amazon-roots.pem``.
- **azure**: PostgreSQL / MySQL flexible server and Azure Cache for Redis chain to DigiCert Global Root G2 (DigiCert
  Global Root CA before Azure's rotation) or Microsoft RSA Root CA 2017: pinned in ``ca/azure-roots.pem``.
- **onprem**: the cert-manager issuer's CA (the Secret ``OnPremFeatureData.ca_secret``), as before: no ConfigMap.

The pinned files carry each certificate's SHA-256 fingerprint in a comment; :func:`pinned_bundle` refuses a file
whose certificates and fingerprints differ.
"""

from __future__ import annotations

import hashlib
import re
import ssl
from collections.abc import Mapping
from pathlib import Path

import pulumi

HERE = Path(__file__).resolve().parent
FETCH_SCRIPT = HERE / "rds_ca_fetch.sh"
PINNED_DIR = HERE / "ca"
CONFIG_MAP = "database-ca-bundle"
"""Name of the ConfigMap in each client namespace."""
LABEL = "mlops.platform/ca-bundle"
"""Label marking the ConfigMap as a database CA bundle (value ``database``): the gate lists these (its
``database_ca_bundles`` fact)."""
MOUNT_DIR = "/etc/mlops/db-ca"
POSTGRES_CA = "postgres-ca.pem"
REDIS_CA = "redis-ca.pem"
POSTGRES_CA_PATH = f"{MOUNT_DIR}/{POSTGRES_CA}"
REDIS_CA_PATH = f"{MOUNT_DIR}/{REDIS_CA}"

_BLOCK = re.compile(
    r"^# sha256: (?P<fp>[0-9A-F:]{95})\n"
    r"(?P<pem>-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+?-----END CERTIFICATE-----)$",
    re.MULTILINE,
)


class PinnedBundleError(ValueError):
    """A pinned CA file whose certificates do not match their recorded fingerprints."""


def fingerprint(pem: str) -> str:
    """SHA-256 of the certificate's DER, as ``openssl x509 -fingerprint -sha256`` prints it."""
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def pinned_bundle(name: str) -> str:
    """The text of ``ca/<name>``, after checking every certificate against the fingerprint written above it."""
    text = (PINNED_DIR / name).read_text()
    blocks = list(_BLOCK.finditer(text))
    if not blocks or len(blocks) != text.count("-----BEGIN CERTIFICATE-----"):
        raise PinnedBundleError(f"ca/{name}: every certificate must follow its '# sha256: ...' line")
    for block in blocks:
        got = fingerprint(block["pem"])
        if got != block["fp"]:
            raise PinnedBundleError(f"ca/{name}: a certificate's SHA-256 is {got}, the file pins {block['fp']}")
    return text


def fetch_script() -> str:
    """The fetch script's text: the ``local.Command`` runs it inline (``bash -c``), so a change to the script
    re-runs the command, and a preview shows exactly what will run."""
    return FETCH_SCRIPT.read_text()


def rds_ca_bundle(name: str, region: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    """The RDS CA bundle of ``region``, fetched at ``pulumi up`` (unknown in a preview)."""
    from pulumi_command import local

    command = local.Command(
        name,
        create=fetch_script(),
        interpreter=["/bin/bash", "-c"],
        environment={"RDS_REGION": region},
        logging="stderr",  # the bundle is public, but thousands of log lines say nothing: only the reasons
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return command.stdout


def ca_bundle_config_map(
    name: str,
    namespace: pulumi.Input[str],
    data: Mapping[str, pulumi.Input[str]],
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource] | None = None,
) -> pulumi.Resource:
    """The ConfigMap :data:`CONFIG_MAP` in ``namespace`` holding ``data`` (``postgres-ca.pem``, ``redis-ca.pem``)."""
    from pulumi_kubernetes.core.v1 import ConfigMap

    missing = {POSTGRES_CA, REDIS_CA} - set(data)
    if missing:
        raise ValueError(f"database CA bundle {name}: missing {', '.join(sorted(missing))}")
    return ConfigMap(
        name,
        metadata={
            "name": CONFIG_MAP,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "mlops-platform", LABEL: "database"},
        },
        data=dict(data),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on or []),
    )


def volume(name: str = "db-ca") -> dict:
    """The pod volume of :data:`CONFIG_MAP` (read-only files)."""
    return {"name": name, "configMap": {"name": CONFIG_MAP, "defaultMode": 0o444}}


def volume_mount(name: str = "db-ca") -> dict:
    return {"name": name, "mountPath": MOUNT_DIR, "readOnly": True}

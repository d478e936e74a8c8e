"""Real Redis and PostgreSQL on loopback, configured like production: TLS only (a throwaway CA signs the server
certificates), password authentication, and for PostgreSQL ``hostssl``/SCRAM only through the same ``pg_hba`` the
on-prem chart gets. Started with pytest-redis's and pytest-postgresql's executors (their factory fixtures cannot
turn TLS on); PostgreSQL refuses to run as root, so as root its ``pg_ctl`` runs as the ``postgres`` user.
"""

from __future__ import annotations

import datetime
import glob
import ipaddress
import os
import secrets
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from components.services.onprem import PG_HBA

REDIS_SERVER = "/usr/bin/redis-server"


@dataclass
class Tls:
    ca: Path
    cert: Path
    key: Path


@dataclass
class Server:
    host: str
    port: int
    user: str
    password: str
    database: str = ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_ctl() -> str | None:
    """The newest Debian PostgreSQL's pg_ctl (``/usr/lib/postgresql/<ver>/bin``), else one on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[4]))
    return found[-1] if found else shutil.which("pg_ctl")


def missing_servers() -> list[str]:
    missing = [] if os.path.exists(REDIS_SERVER) else ["redis-server"]
    return missing + ([] if pg_ctl() else ["postgresql"])


def make_tls(directory: Path) -> Tls:
    """A CA and a server certificate for localhost / 127.0.0.1 (ECDSA P-256, one day)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    valid = {
        "not_valid_before": now - datetime.timedelta(minutes=5),
        "not_valid_after": now + datetime.timedelta(days=1),
    }
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mlops test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid["not_valid_before"])
        .not_valid_after(valid["not_valid_after"])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid["not_valid_before"])
        .not_valid_after(valid["not_valid_after"])
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    tls = Tls(ca=directory / "ca.crt", cert=directory / "server.crt", key=directory / "server.key")
    tls.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    tls.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tls.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    tls.key.chmod(0o600)
    return tls


def _give_to_postgres(path: Path) -> None:
    """As root, the postgres user must own the server's files (it refuses a key others can read)."""
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def _pg_ctl_wrapper(directory: Path, real: str) -> str:
    """pg_ctl as the postgres user when run as root; the initdb password file is handed over first."""
    wrapper = directory / "pg_ctl"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'[ "$(id -u)" = 0 ] || exec "{real}" "$@"\n'
        'for arg in "$@"; do case "$arg" in *--pwfile=*) f=${arg##*--pwfile=}; chown postgres "${f%% *}";; esac; done\n'
        f'exec runuser -u postgres -- "{real}" "$@"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(wrapper)


@contextmanager
def redis_tls(workdir: Path, tls: Tls) -> Iterator[Server]:
    """redis-server with TLS only (plain port off) and a password, through pytest-redis's executor."""
    from pytest_redis.executor import RedisExecutor

    port, password = free_port(), secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")
    data = workdir / "redis"
    data.mkdir()
    executor = RedisExecutor(
        REDIS_SERVER,
        databases=4,
        redis_timeout=30,
        loglevel="warning",
        host="127.0.0.1",
        port=port,
        password=password,
        datadir=data,
        startup_timeout=30,
    )
    executor.command_parts += [
        "--port",
        "0",
        "--tls-port",
        str(port),
        "--tls-cert-file",
        str(tls.cert),
        "--tls-key-file",
        str(tls.key),
        "--tls-ca-cert-file",
        str(tls.ca),
        "--tls-auth-clients",
        "no",
        "--tls-protocols",
        "TLSv1.2 TLSv1.3",
    ]
    executor.command = " ".join(executor.command_parts)
    with executor:
        yield Server(host="localhost", port=port, user="default", password=password)


@contextmanager
def postgres_tls(tls: Tls, database: str) -> Iterator[Server]:
    """PostgreSQL accepting only TLS + SCRAM (the on-prem pg_hba), through pytest-postgresql's executor; the
    ``database`` is created (and dropped after) by its DatabaseJanitor."""
    real = pg_ctl()
    assert real, "postgresql is not installed"
    # Outside pytest's temp tree, which only its owner may enter: the server may run as another user.
    root = Path(tempfile.mkdtemp(prefix="mlops-postgres-"))
    try:
        with _postgres_in(root, real, tls, database) as server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def _postgres_in(root: Path, real: str, tls: Tls, database: str) -> Iterator[Server]:
    from pytest_postgresql.executors.proc import PostgreSQLExecutor
    from pytest_postgresql.janitor import DatabaseJanitor

    root.chmod(0o755)
    (root / "sock").mkdir()
    for part in (root, root / "sock"):
        _give_to_postgres(part)
    server_tls = Tls(ca=root / "ca.crt", cert=root / "server.crt", key=root / "server.key")
    for source, target in ((tls.ca, server_tls.ca), (tls.cert, server_tls.cert), (tls.key, server_tls.key)):
        shutil.copy(source, target)
        _give_to_postgres(target)
    hba = root / "pg_hba.conf"
    hba.write_text(PG_HBA)
    _give_to_postgres(hba)
    port, password = free_port(), secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")
    options = (
        f" -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file={server_tls.cert}"
        f" -c ssl_key_file={server_tls.key} -c ssl_ca_file={server_tls.ca} -c hba_file={hba}"
        " -c ssl_min_protocol_version=TLSv1.2 -c password_encryption=scram-sha-256"
    )
    executor = PostgreSQLExecutor(
        executable=_pg_ctl_wrapper(root, real),
        host="127.0.0.1",
        port=port,
        datadir=str(root / "data"),
        unixsocketdir=str(root / "sock"),
        logfile=str(root / "postgres.log"),
        startparams="-w",
        dbname="postgres",
        user="feast",
        password=password,
        postgres_options=options,
        timeout=120,
    )
    with executor:
        executor.wait_for_postgres()
        janitor = DatabaseJanitor(
            user="feast", host="127.0.0.1", port=port, dbname=database, version=executor.version, password=password
        )
        with janitor:
            yield Server(host="localhost", port=port, user="feast", password=password, database=database)

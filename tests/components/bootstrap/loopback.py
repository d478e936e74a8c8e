"""Throw-away test hosts on loopback for the bootstrap script: real sshd, real files, real apt, real sysctls.

Design (the smallest honest host we found; setting one up takes well under a second):
- ``loopback_host.sh`` runs under ``unshare --mount --net``: a private network namespace (its own loopback, so
  every node gets its own sshd on ADDRESS:22, and its own ``net.*`` sysctls, which the bootstrap really writes)
  and a private mount namespace holding one overlayfs root per node (this machine's ``/`` read-only below, a
  tmpfs above: every write lands in the throw-away layer). A debootstrap chroot would need the network and
  minutes per run; this needs neither.
- Packages come from a real, signed apt repository built here (``file:/srv/mlops-mirror``, keyring under
  ``/etc/apt/keyrings``), installed by the node's real apt and dpkg, pinned and held. Their *contents* are
  stand-ins (``standins/``): no real containerd, kubelet or NVIDIA toolkit.
- Stand-ins where a test host cannot have the real thing, named as such: ``modprobe`` (no module loading here),
  ``systemctl`` (no systemd), ``kubeadm`` (no cluster to join), ``nvidia-smi``/``nvidia-container-cli`` (no GPU),
  and on the control-plane host a kubeadm kube-apiserver manifest (``fixtures/kube-apiserver.yaml``) with ``pgrep``
  and ``curl`` (no kubelet recreates the static pod, no API server answers ``/readyz``).
- The client (ssh, scp, pytest-testinfra) enters the same network namespace with ``nsenter --net``.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import string
import subprocess
import tempfile
import textwrap
import time
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

import yaml

from components.bootstrap.render import REMOTE_SCRIPT, SCRIPT, node_env, remote_command
from infra.targets.onprem import bootstrap_settings, node_plans
from tests.acceptance.nodes.inventory import REPO, load_stack

HERE = Path(__file__).parent
STANDINS = HERE / "standins"
MIRROR = "/srv/mlops-mirror"
KEYRING = "/etc/apt/keyrings/mlops-test-mirror.gpg"
CONTAINERD_VERSION = "1.7.27-1"
KUBERNETES_VERSION = "1.33.2-1.1"
TOOLKIT_VERSION = "1.17.8-1"
PACKAGE_FILES = {  # package -> (version, file it installs, stand-in it is)
    "containerd.io": (CONTAINERD_VERSION, "usr/bin/containerd", "binary"),
    "kubelet": (KUBERNETES_VERSION, "usr/bin/kubelet", "binary"),
    "kubeadm": (KUBERNETES_VERSION, "usr/bin/kubeadm", "kubeadm"),
    "kubectl": (KUBERNETES_VERSION, "usr/bin/kubectl", "binary"),
    "nvidia-container-toolkit": (TOOLKIT_VERSION, "usr/bin/nvidia-ctk", "binary"),
    "nvidia-container-toolkit-base": (TOOLKIT_VERSION, "usr/bin/nvidia-container-runtime", "binary"),
    "libnvidia-container-tools": (TOOLKIT_VERSION, "usr/bin/nvidia-container-cli", "nvidia-container-cli"),
    "libnvidia-container1": (TOOLKIT_VERSION, "usr/share/doc/libnvidia-container1/stand-in", "binary"),
}
NODES = {"loop-cpu-01": "127.0.0.2", "loop-gpu-01": "127.0.0.3"}
CONTROL_PLANE = "loop-cpu-01"
"""The lab's control-plane server (``controlPlane: true``): its bootstrap runs the ``apiserver`` step."""
APISERVER_FIXTURE = HERE / "fixtures" / "kube-apiserver.yaml"
GPUS = 2


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)


def _build_mirror(work: Path, out: Path) -> bytes:
    """A flat apt repository of stand-in packages, signed with a throw-away key. Returns the public keyring."""
    out.mkdir(parents=True)
    for name, (version, path, standin) in PACKAGE_FILES.items():
        pkg = work / "debs" / name
        (pkg / "DEBIAN").mkdir(parents=True)
        (pkg / "DEBIAN" / "control").write_text(
            f"Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: mlops tests <tests@invalid>\n"
            f"Description: STAND-IN {name} for the loopback bootstrap test\n"
        )
        target = pkg / path
        target.parent.mkdir(parents=True)
        shutil.copy(STANDINS / standin, target)
        run(["dpkg-deb", "--root-owner-group", "--build", str(pkg), str(out / f"{name}_{version}_all.deb")])
    stanzas = []
    for deb in sorted(out.glob("*.deb")):
        data = deb.read_bytes()
        control = run(["dpkg-deb", "-f", str(deb)]).stdout.strip()
        stanzas.append(
            f"{control}\nFilename: ./{deb.name}\nSize: {len(data)}\n"
            f"MD5sum: {hashlib.md5(data).hexdigest()}\nSHA256: {hashlib.sha256(data).hexdigest()}\n"
        )
    packages = "\n".join(stanzas).encode()
    (out / "Packages").write_bytes(packages)
    (out / "Release").write_text(
        f"Origin: mlops-tests\nLabel: mlops-tests\nDate: {formatdate(usegmt=True)}\n"
        f"SHA256:\n {hashlib.sha256(packages).hexdigest()} {len(packages)} Packages\n"
    )
    gnupg = work / "gnupg"
    gnupg.mkdir(mode=0o700)
    gpg = ["gpg", "--batch", "--homedir", str(gnupg), "--passphrase", ""]
    run([*gpg, "--quick-gen-key", "mlops test mirror <tests@invalid>", "ed25519", "sign", "never"])
    run([*gpg, "--clearsign", "-o", str(out / "InRelease"), str(out / "Release")])
    return subprocess.run([*gpg, "--export"], check=True, capture_output=True).stdout


def _stack_file(path: Path) -> None:
    secret = {"secure": "v1:offline:not-decrypted"}
    config = {
        "mlops:target": "onprem",
        "mlops:region": "lab-loopback",
        "mlops:residency": {"allowedRegions": ["lab-loopback"]},
        "mlops:tags": {"owner": "tests", "cost-center": "CC-0", "data-classification": "internal"},
        "mlops:nodePools": [
            {
                "name": "system",
                "kind": "cpu",
                "role": "system",
                "minSize": 1,
                "maxSize": 1,
                "nodes": [
                    {"name": "loop-cpu-01", "address": NODES["loop-cpu-01"], "sshUser": "root", "controlPlane": True}
                ],
            },
            {
                "name": "gpu-test",
                "kind": "gpu",
                "gpuModel": "nvidia-a100",
                "gpuCount": GPUS,
                "minSize": 1,
                "maxSize": 1,
                "labels": {"team": "ml"},
                "nodes": [{"name": "loop-gpu-01", "address": NODES["loop-gpu-01"], "sshUser": "root"}],
            },
        ],
        "mlops:buckets": [{"name": "datasets"}],
        "mlops:identity": {
            "platformAdmin": ["admins"],
            "mlEngineer": ["ml"],
            "dataScientist": ["ds"],
            "oidc": {"issuerUrl": "https://sso.test/realms/corp", "audience": "mlops-platform"},
        },
        "mlops:nodeBootstrap": {
            "aptRepositories": [
                {"name": "loopback-mirror", "uri": f"file:{MIRROR}", "suite": "./", "signedBy": KEYRING}
            ],
            "containerdVersion": CONTAINERD_VERSION,
            "kubernetesPackageVersion": KUBERNETES_VERSION,
            "nvidiaContainerToolkitVersion": TOOLKIT_VERSION,
            "apiServerEndpoint": "127.0.0.1:6443",
            "caCertHashes": ["sha256:" + hashlib.sha256(b"loopback test CA").hexdigest()],
        },
        "mlops:kubeconfig": secret,
        "mlops:nodeSshPrivateKey": secret,
        "mlops:clusterJoinToken": secret,
    }
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))


def _seed(
    seed: Path, host_key: Path, client_pub: str, keyring: bytes, mirror: Path, gpu: bool, control_plane: bool = False
) -> None:
    ssh = seed / "etc/ssh/mlops-test"
    ssh.mkdir(parents=True)
    shutil.copy(host_key, ssh / "host_ed25519")
    (ssh / "authorized_keys").write_text(client_pub)
    (ssh / "sshd_config").write_text(
        textwrap.dedent("""\
        ListenAddress 127.0.0.1:22
        HostKey /etc/ssh/mlops-test/host_ed25519
        AuthorizedKeysFile /etc/ssh/mlops-test/authorized_keys
        PermitRootLogin prohibit-password
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        UsePAM no
        PidFile none
        Subsystem sftp internal-sftp
        """)
    )
    sbin = seed / "usr/local/sbin"
    sbin.mkdir(parents=True)
    for tool in ("modprobe", "systemctl"):
        shutil.copy(STANDINS / tool, sbin / tool)
    (seed / "etc/fstab").write_text("# loopback test host\n/swap.img  none  swap  sw  0  0\n")
    (seed / "etc/apt/keyrings").mkdir(parents=True)
    (seed / KEYRING.lstrip("/")).write_bytes(keyring)
    shutil.copytree(mirror, seed / MIRROR.lstrip("/"))
    if control_plane:
        for tool in ("pgrep", "curl"):
            shutil.copy(STANDINS / tool, sbin / tool)
        manifests = seed / "etc/kubernetes/manifests"
        manifests.mkdir(parents=True)
        shutil.copy(APISERVER_FIXTURE, manifests / "kube-apiserver.yaml")
        (manifests / "kube-apiserver.yaml").chmod(0o600)
    if gpu:
        (seed / "usr/local/bin").mkdir(parents=True)
        shutil.copy(STANDINS / "nvidia-smi", seed / "usr/local/bin/nvidia-smi")
        (seed / "etc/mlops-standin-gpus").write_text(f"{GPUS}\n")


@dataclass
class LoopbackHosts:
    """Running test hosts: ssh to them, bootstrap them with the real script, run the acceptance suite on them."""

    work: Path
    process: subprocess.Popen
    netns: str
    stack_file: Path
    join_token: str

    def client(self, cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
        """Run a client command inside the hosts' network namespace."""
        return subprocess.run(
            ["nsenter", f"--net={self.netns}", "--", *cmd],
            capture_output=True,
            text=True,
            timeout=300,
            check=kwargs.pop("check", False),
            **kwargs,
        )

    def ssh(self, node: str, command: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return self.client(["ssh", "-F", str(self.work / "ssh_config"), NODES[node], command], input=stdin)

    def bootstrap(self, node: str) -> subprocess.CompletedProcess:
        """What the Pulumi component does for one node: copy the script, run the rendered command, token on stdin."""
        cfg = load_stack(str(self.stack_file))
        plan = next(p for p in node_plans(cfg) if p.name == node)
        copy = self.ssh(node, f"mkdir -p {Path(REMOTE_SCRIPT).parent}")
        assert copy.returncode == 0, copy.stderr
        scp = self.client(
            ["scp", "-q", "-F", str(self.work / "ssh_config"), str(SCRIPT), f"{plan.address}:{REMOTE_SCRIPT}"]
        )
        assert scp.returncode == 0, scp.stderr
        env = node_env(
            plan, bootstrap_settings(cfg.node_bootstrap), require_driver=cfg.safeguards.gpu_driver_preinstalled
        )
        return self.ssh(node, remote_command(env, plan.ssh_user), stdin=self.join_token + "\n")

    def acceptance(self, *args: str) -> subprocess.CompletedProcess:
        """The operator's command: pytest tests/acceptance/nodes against every node of the stack, over ssh://."""
        return self.client(
            [
                str(REPO / ".venv/bin/python"),
                "-m",
                "pytest",
                "tests/acceptance/nodes",
                "-p",
                "no:cacheprovider",
                "-q",
                "--inventory-stack",
                str(self.stack_file),
                "--ssh-config",
                str(self.work / "ssh_config"),
                *args,
            ],
            cwd=REPO,
        )

    def close(self) -> None:
        for address in NODES.values():
            self.client(["ssh", "-F", str(self.work / "ssh_config"), "-O", "exit", address])
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=10)
        shutil.rmtree(self.work, ignore_errors=True)


def start() -> LoopbackHosts:
    """Build the mirror, keys and seeds, start the hosts, wait until every sshd answers."""
    work = Path(tempfile.mkdtemp(prefix="mlops-lb-"))
    mirror = work / "mirror"
    keyring = _build_mirror(work, mirror)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / "client_key")])
    known_hosts = []
    for node, address in NODES.items():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / f"{node}_host")])
        known_hosts.append(f"{address} {(work / f'{node}_host.pub').read_text().strip()}")
        _seed(
            work / node / "seed",
            work / f"{node}_host",
            (work / "client_key.pub").read_text(),
            keyring,
            mirror,
            gpu="gpu" in node,
            control_plane=node == CONTROL_PLANE,
        )
    (work / "known_hosts").write_text("\n".join(known_hosts) + "\n")
    (work / "ssh_config").write_text(
        textwrap.dedent(f"""\
        Host {" ".join(NODES.values())}
          User root
          IdentityFile {work}/client_key
          IdentitiesOnly yes
          UserKnownHostsFile {work}/known_hosts
          StrictHostKeyChecking yes
          BatchMode yes
          ControlPath {work}/cm-%C
        """)
    )
    stack_file = work / "Pulumi.loopback.yaml"
    _stack_file(stack_file)
    process = subprocess.Popen(
        [
            "unshare",
            "--mount",
            "--net",
            "--propagation",
            "private",
            "--fork",
            "bash",
            str(HERE / "loopback_host.sh"),
            str(work),
            *(f"{node}={address}" for node, address in NODES.items()),
        ],
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ready = work / "ready"
    alphabet = string.ascii_lowercase + string.digits
    token = (
        "".join(secrets.choice(alphabet) for _ in range(6)) + "." + "".join(secrets.choice(alphabet) for _ in range(16))
    )
    deadline = time.monotonic() + 30
    while not ready.exists() or not ready.read_text().strip():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"loopback hosts did not start: {process.stdout.read() if process.stdout else ''}")
        time.sleep(0.05)
    hosts = LoopbackHosts(work, process, f"/proc/{ready.read_text().strip()}/ns/net", stack_file, token)
    for node in NODES:
        while hosts.ssh(node, "true").returncode != 0:
            if time.monotonic() > deadline:
                logs = "".join((work / n / "sshd.log").read_text() for n in NODES if (work / n / "sshd.log").exists())
                hosts.close()
                raise RuntimeError(f"sshd on {node} did not answer: {logs}")
            time.sleep(0.1)
    return hosts

"""The real bootstrap script against real throw-away hosts on loopback (see loopback.py for the design).

Runs for real: sshd and scp (the script is copied as the component copies it), the rendered command with the join
token on stdin, file edits (fstab, modules-load.d, sysctl.d, apt sources, containerd and kubelet config), net.*
sysctls (in the hosts' own network namespace), apt and dpkg against a signed mirror, pinning and holds, and then
the acceptance suite over ssh://. Stand-ins, named in each test: modprobe, systemctl, kubeadm and the GPU driver;
the packages' contents.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil

import pytest

from tests.components.bootstrap import loopback

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create namespaces and mounts (CI runs as root)"),
]
TOOLS = {
    "unshare": "util-linux",
    "nsenter": "util-linux",
    "ip": "iproute2",
    "sshd": "openssh-server",
    "ssh": "openssh-client",
    "scp": "openssh-client",
    "gpg": "gpg",
    "dpkg-deb": "dpkg",
    "ps": "procps",
}

CPU, GPU = "loop-cpu-01", "loop-gpu-01"
EVERY_STEP = [
    "preflight",
    "swap",
    "kernel-modules",
    "sysctl",
    "apt-sources",
    "packages",
    "package-hold",
    "containerd-config",
    "containerd-service",
    "kubelet-config",
    "join",
    "kubelet-service",
]
GPU_STEPS = ["gpu-driver", "nvidia-runtime"]


def steps(output: str) -> dict[str, str]:
    return dict(re.findall(r"^mlops-bootstrap node=\S+ step=(\S+) status=(\w+)", output, re.MULTILINE))


@pytest.fixture(scope="module")
def hosts():
    missing = sorted({package for tool, package in TOOLS.items() if not shutil.which(tool)})
    if missing:
        pytest.fail(f"the loopback test hosts need Debian packages: apt-get install {' '.join(missing)}")
    hosts = loopback.start()
    yield hosts
    hosts.close()


@pytest.fixture(scope="module")
def first_runs(hosts):
    return {node: hosts.bootstrap(node) for node in (CPU, GPU)}


def test_first_run_changes_fresh_hosts_with_standin_kernel_modules_systemd_kubeadm_and_gpu(first_runs):
    for node, run in first_runs.items():
        assert run.returncode == 0, f"{node}: {run.stdout[-2000:]}\n{run.stderr[-2000:]}"
        reported = steps(run.stdout)
        unchanged = {"preflight"} | ({"gpu-driver", "nvidia-runtime"} if node == GPU else set())
        assert set(reported) == set(EVERY_STEP) | (set(GPU_STEPS) if node == GPU else set()) | (
            {"apiserver"} if node == loopback.CONTROL_PLANE else set()
        )
        assert {s for s, status in reported.items() if status == "ok"} == unchanged
        assert f"node={node} result=ok" in run.stdout


def test_join_token_reaches_standin_kubeadm_only_through_a_0600_file(hosts, first_runs):
    token = hosts.join_token
    for node, run in first_runs.items():
        log = hosts.ssh(node, "cat /var/log/mlops-standins.log").stdout
        assert f"kubeadm token-sha256: {hashlib.sha256(token.encode()).hexdigest()}" in log
        assert "kubeadm argv: join --config /etc/kubernetes/mlops-join.yaml" in log
        assert token not in log, "the token showed in kubeadm's argv or in a process listing during the join"
        assert token not in run.stdout + run.stderr
        assert hosts.ssh(node, "test ! -e /etc/kubernetes/mlops-join.yaml").returncode == 0


def test_control_plane_api_server_gets_idp_authentication_and_audit_policy(hosts, first_runs):
    """The `apiserver` step on the control-plane host, over SSH as the component runs it: stand-in `pgrep`/`curl`
    (see loopback.py); the manifest is kubeadm 1.33's (fixtures/kube-apiserver.yaml)."""
    from components.bootstrap import render

    node = loopback.CONTROL_PLANE
    assert steps(first_runs[node].stdout)["apiserver"] == "changed"
    manifest = hosts.ssh(node, "cat /etc/kubernetes/manifests/kube-apiserver.yaml").stdout
    for flag in render.apiserver_flags():
        assert manifest.count(f"- {flag}\n") == 1, flag
    assert "--oidc-" not in manifest and "name: mlops-apiserver-config" in manifest
    modes = hosts.ssh(node, f"stat -c '%a %n' {render.AUTHENTICATION_CONFIG} {render.AUDIT_POLICY}").stdout.split()
    assert modes[0::2] == ["600", "600"]
    assert hosts.ssh(node, f"grep -q 'issuer:' {render.AUTHENTICATION_CONFIG}").returncode == 0
    assert hosts.ssh(node, "ls /etc/kubernetes/manifests").stdout.split() == ["kube-apiserver.yaml"]
    backups = hosts.ssh(node, f"ls {render.APISERVER_CONFIG_DIR}/backup").stdout.split()
    assert len(backups) == 1 and backups[0].startswith("kube-apiserver.yaml.")
    assert "/readyz" in hosts.ssh(node, "cat /var/log/mlops-standins.log").stdout
    assert hosts.ssh(node, f"test -d {render.AUDIT_LOG_DIR}").returncode == 0
    assert "apiserver" not in steps(first_runs[GPU].stdout), "a worker's API server is not touched"


def test_second_run_changes_nothing(hosts, first_runs):
    for node in (CPU, GPU):
        run = hosts.bootstrap(node)
        assert run.returncode == 0, run.stderr[-2000:]
        assert set(steps(run.stdout).values()) == {"ok"}, steps(run.stdout)
        assert f"node={node} result=ok changed=0" in run.stdout


def test_acceptance_suite_passes_over_ssh_with_standin_systemd_modprobe_and_kubeadm(hosts, first_runs):
    result = hosts.acceptance("-m", "node", "-rA")
    assert result.returncode == 0, result.stdout[-4000:]
    assert re.search(
        r"^PASSED .*test_containerd_default_runtime_matches_the_node_kind\[ssh://127\.0\.0\.3\]",
        result.stdout,
        re.MULTILINE,
    )
    assert "kubelet_registers_with_the_pool_taints[ssh://127.0.0.3]" in result.stdout
    assert re.search(r"\b(2[5-9]|[3-9]\d) passed", result.stdout), result.stdout[-1000:]


def test_gpu_acceptance_passes_against_the_standin_nvidia_smi(hosts, first_runs):
    result = hosts.acceptance("-m", "gpu", "-rA")
    assert result.returncode == 0, result.stdout[-4000:]
    assert "3 passed" in result.stdout and "CPU node" in result.stdout  # GPU tests skip on the CPU node, by name


def test_acceptance_suite_catches_drift_and_a_rerun_repairs_it(hosts, first_runs):
    drift = hosts.ssh(CPU, "sysctl -q -w net.ipv4.ip_forward=0 && echo '/swap.img none swap sw 0 0' >> /etc/fstab")
    assert drift.returncode == 0, drift.stderr
    failing = hosts.acceptance("-m", "node", "-k", "sysctl or swap")
    assert failing.returncode != 0
    assert (
        "FAILED tests/acceptance/nodes/test_node.py::test_sysctl_is_set_and_persisted"
        "[ssh://127.0.0.2-net.ipv4.ip_forward]"
    ) in failing.stdout
    assert (
        "FAILED tests/acceptance/nodes/test_node.py::test_swap_is_off_and_stays_off[ssh://127.0.0.2]"
    ) in failing.stdout

    repair = hosts.bootstrap(CPU)
    assert repair.returncode == 0, repair.stderr[-2000:]
    assert {s for s, status in steps(repair.stdout).items() if status == "changed"} == {"swap", "sysctl"}
    assert hosts.acceptance("-m", "node", "-k", "sysctl or swap").returncode == 0


def test_failing_step_is_reported_by_node_and_name_and_stops_the_node(hosts, first_runs):
    keyring = loopback.KEYRING
    assert hosts.ssh(GPU, f"mv {keyring} {keyring}.away").returncode == 0
    try:
        run = hosts.bootstrap(GPU)
    finally:
        assert hosts.ssh(GPU, f"mv {keyring}.away {keyring}").returncode == 0
    assert run.returncode != 0
    assert f"node={GPU} step=apt-sources status=failed: apt keyring {keyring}" in run.stderr
    assert f"node={GPU} result=failed step=apt-sources" in run.stderr
    assert "step=packages" not in run.stdout, "steps after the failing one ran"
    assert hosts.bootstrap(GPU).returncode == 0


def test_a_command_failing_inside_a_step_names_that_step(hosts, first_runs):
    """Not an explicit check: apt-get itself fails (a version the mirror lacks) and the exit trap names the step."""
    cfg = loopback.load_stack(str(hosts.stack_file))
    plan = next(p for p in loopback.node_plans(cfg) if p.name == CPU)
    env = loopback.node_env(plan, loopback.bootstrap_settings(cfg.node_bootstrap))
    env["MLOPS_PACKAGES"] = env["MLOPS_PACKAGES"].replace("kubelet=1.33.2-1.1", "kubelet=1.33.9-9.9")
    run = hosts.ssh(CPU, loopback.remote_command(env, "root"), stdin=hosts.join_token + "\n")
    assert run.returncode != 0
    assert re.search(rf"node={CPU} step=packages status=failed exit=\d+", run.stderr), run.stderr[-1000:]
    assert "Version '1.33.9-9.9' for 'kubelet' was not found" in run.stderr  # apt's own message

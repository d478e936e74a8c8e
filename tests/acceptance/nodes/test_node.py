"""What the bootstrap (components/bootstrap/scripts/bootstrap.sh) leaves on a node, checked on the node itself."""

from __future__ import annotations

import re
import shlex
import tomllib

import pytest

pytestmark = pytest.mark.node

CRI = 'plugins."io.containerd.grpc.v1.cri"'
MODULES = ("overlay", "br_netfilter")
SYSCTLS = {"net.bridge.bridge-nf-call-iptables": 1, "net.bridge.bridge-nf-call-ip6tables": 1, "net.ipv4.ip_forward": 1}


def _containerd(host) -> dict:
    config = host.file("/etc/containerd/config.toml")
    assert config.exists, "/etc/containerd/config.toml is missing"
    return tomllib.loads(config.content_string)["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]


def _kubelet_args(host) -> dict[str, str]:
    defaults = host.file("/etc/default/kubelet")
    assert defaults.exists, "/etc/default/kubelet is missing"
    match = re.search(r'^KUBELET_EXTRA_ARGS="(.*)"$', defaults.content_string, re.MULTILINE)
    assert match, "/etc/default/kubelet sets no KUBELET_EXTRA_ARGS"
    return dict(arg.removeprefix("--").split("=", 1) for arg in shlex.split(match.group(1)))


def test_swap_is_off_and_stays_off(host):
    assert host.run("swapon --noheadings --show").stdout.strip() == "", "swap is active"
    active = [
        line
        for line in host.file("/etc/fstab").content_string.splitlines()
        if line.split()[2:3] == ["swap"] and not line.lstrip().startswith("#")
    ]
    assert active == [], f"/etc/fstab still mounts swap at boot: {active}"


@pytest.mark.parametrize("module", MODULES)
def test_kernel_module_is_loaded_and_persisted(host, module):
    assert host.file(f"/sys/module/{module}").is_directory, f"kernel module {module} is not loaded"
    assert module in host.file("/etc/modules-load.d/mlops-kubernetes.conf").content_string.split()


@pytest.mark.parametrize("key", sorted(SYSCTLS))
def test_sysctl_is_set_and_persisted(host, key):
    assert host.sysctl(key) == SYSCTLS[key]
    assert f"{key}={SYSCTLS[key]}" in host.file("/etc/sysctl.d/99-mlops-kubernetes.conf").content_string.split()


def test_containerd_uses_the_systemd_cgroup_driver(host):
    runc = _containerd(host)["runtimes"]["runc"]
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"]["SystemdCgroup"] is True


def test_containerd_default_runtime_matches_the_node_kind(host, expected):
    containerd = _containerd(host)
    if expected.gpu:
        nvidia = containerd["runtimes"]["nvidia"]
        assert containerd["default_runtime_name"] == "nvidia"
        assert nvidia["options"]["SystemdCgroup"] is True
        assert host.file(nvidia["options"]["BinaryName"]).mode & 0o111, "the NVIDIA runtime binary is not executable"
    else:
        assert containerd["default_runtime_name"] == "runc"
        assert "nvidia" not in containerd["runtimes"]


def test_kubelet_registers_with_the_pool_labels(host, marked):
    labels = dict(item.split("=", 1) for item in _kubelet_args(host)["node-labels"].split(","))
    assert labels == marked.labels


def test_kubelet_registers_with_the_pool_taints(host, marked):
    wanted = ",".join(f"{t['key']}={t.get('value', '')}:{t['effect']}" for t in marked.taints)
    assert _kubelet_args(host).get("register-with-taints", "") == wanted


def test_pinned_packages_are_installed_and_held(host, expected):
    if not expected.packages:
        pytest.skip("package versions come from the stack's nodeBootstrap: use --inventory-stack")
    held = set(host.run("apt-mark showhold").stdout.split())
    for spec in expected.packages:
        name, version = spec.split("=", 1)
        package = host.package(name)
        assert package.is_installed, f"{name} is not installed"
        assert package.version == version, f"{name} is {package.version}, the stack pins {version}"
        assert name in held, f"{name} is not held: an unattended upgrade could move it"


def test_node_has_joined_the_cluster(host):
    assert host.file("/etc/kubernetes/kubelet.conf").exists, "no /etc/kubernetes/kubelet.conf: the node never joined"
    assert not host.file("/etc/kubernetes/mlops-join.yaml").exists, "the join configuration (with the token) was left"


@pytest.mark.parametrize("unit", ["containerd", "kubelet"])
def test_service_is_enabled_and_running(host, unit):
    assert host.run(f"systemctl is-enabled {unit}").stdout.strip() == "enabled", f"{unit} is not enabled"
    assert host.run(f"systemctl is-active {unit}").stdout.strip() == "active", f"{unit} is not running"


def test_nvidia_runtime_reaches_the_gpus(host, gpu_node):
    """The toolkit that containerd's nvidia runtime calls sees the driver and every GPU."""
    info = host.run("nvidia-container-cli info")
    assert info.rc == 0, f"nvidia-container-cli info failed: {info.stderr}"
    assert len(re.findall(r"^Device Index:", info.stdout, re.MULTILINE)) == gpu_node.gpu_count


def test_a_container_on_the_nvidia_runtime_sees_the_gpus(host, gpu_node, request):
    image = request.config.getoption("cuda_image")
    if not image:
        pytest.skip("pass --cuda-image IMAGE (already pulled into containerd's k8s.io namespace) to run a container")
    runtime = _containerd(host)["runtimes"]["nvidia"]["options"]["BinaryName"]
    run = host.run(
        "ctr -n k8s.io run --rm --runc-binary %s --env NVIDIA_VISIBLE_DEVICES=all %s mlops-acceptance-gpu "
        "nvidia-smi -L",
        runtime,
        image,
    )
    assert run.rc == 0, f"the container failed on the NVIDIA runtime: {run.stderr}"
    assert len([line for line in run.stdout.splitlines() if line.startswith("GPU ")]) == gpu_node.gpu_count

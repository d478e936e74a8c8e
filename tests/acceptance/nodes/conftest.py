"""Acceptance suite for bootstrapped on-prem nodes (pytest-testinfra). It checks real machines, so it only runs
when told which: ``--hosts=ssh://user@node`` (testinfra) with ``--expect-*`` flags, or ``--inventory-stack NAME``
(every node of ``stacks/Pulumi.NAME.yaml`` or of a stack file path, with its pool, labels, taints and GPU count).
In a plain ``pytest`` run every test here is skipped with that reason. docs/onprem-bootstrap.md has the commands.

Markers: ``node`` for what the bootstrap configures (swap, modules, sysctls, containerd, kubelet, services, the
NVIDIA runtime), ``gpu`` for the driver alone (``nvidia-smi`` answers, GPU count): ``-m gpu`` runs on any GPU
machine, Kubernetes or not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.acceptance.nodes.inventory import Expected, load_inventory

HERE = Path(__file__).parent
SKIP_REASON = (
    "acceptance suite for real nodes: run `pytest tests/acceptance/nodes --hosts=ssh://USER@NODE --expect-gpus N ...` "
    "or `pytest tests/acceptance/nodes --inventory-stack STACK` (docs/onprem-bootstrap.md)"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mlops-nodes", "mlops on-prem node acceptance")
    group.addoption("--inventory-stack", default=None, help="stack name (stacks/Pulumi.NAME.yaml) or stack file path")
    group.addoption("--expect-gpus", type=int, default=None, help="GPUs each --hosts node must have; 0: a CPU node")
    group.addoption("--expect-pool", default=None, help="node pool of the --hosts nodes (for labels and taints)")
    group.addoption("--expect-gpu-model", default=None, help="GPU model label of the --hosts nodes, e.g. nvidia-a100")
    group.addoption(
        "--cuda-image",
        default=None,
        help="an image already in containerd (k8s.io namespace) with nvidia-smi, to run through the NVIDIA runtime",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "node: what the bootstrap configures on a node (OS, containerd, kubelet)")
    config.addinivalue_line("markers", "gpu: the NVIDIA driver alone (nvidia-smi answers, GPU count)")
    stack = config.getoption("inventory_stack", default=None)
    if stack and not config.getoption("hosts", default=None):
        config.option.hosts = ",".join(
            f"ssh://{node.ssh_user}@{address}" for address, node in load_inventory(stack).items()
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("hosts", default=None) or config.getoption("inventory_stack", default=None):
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(skip)


def _from_flags(config: pytest.Config, hostname: str) -> Expected:
    from components import gpu

    gpus = config.getoption("expect_gpus")
    if gpus is None:
        raise pytest.UsageError("--hosts needs --expect-gpus N (0 for a CPU node), or use --inventory-stack")
    pool = config.getoption("expect_pool")
    model = config.getoption("expect_gpu_model")
    if pool is None:
        return Expected(hostname, gpus > 0, gpus or None)
    if gpus > 0 and not model:
        raise pytest.UsageError("--expect-pool on a GPU node needs --expect-gpu-model")
    labels = gpu.node_labels(pool, "gpu" if gpus else "cpu", model, gpus or None, {})
    taints = [dict(gpu.GPU_TAINT)] if gpus else []
    return Expected(hostname, gpus > 0, gpus or None, labels, taints)


@pytest.fixture(scope="module")
def expected(request: pytest.FixtureRequest, host) -> Expected:
    """The expectation for the host under test: its stack entry, or the --expect-* flags."""
    hostname = host.backend.get_hostname()
    stack = request.config.getoption("inventory_stack")
    if stack:
        inventory = load_inventory(stack)
        if hostname not in inventory:
            raise pytest.UsageError(f"host {hostname} is not a node address in stack {stack}")
        return inventory[hostname]
    return _from_flags(request.config, hostname)


@pytest.fixture
def gpu_node(expected: Expected) -> Expected:
    if not expected.gpu:
        pytest.skip(f"{expected.name} is a CPU node")
    return expected


@pytest.fixture
def marked(expected: Expected) -> Expected:
    if expected.labels is None:
        pytest.skip("labels and taints need --inventory-stack or --expect-pool")
    return expected

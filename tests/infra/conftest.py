"""Acceptance suite for bootstrapped on-prem nodes (pytest-testinfra). It checks real machines, so it only runs
when told which: ``--hosts=ssh://user@node`` (testinfra) with ``--expect-*`` flags, or ``--inventory-stack NAME``
(every node of ``stacks/Pulumi.NAME.yaml`` or of a stack file path, with its pool, labels, taints and GPU count).
In a plain ``pytest`` run every test here is skipped with that reason. docs/onprem-bootstrap.md has the commands.

Markers: ``node`` for what the bootstrap configures (swap, modules, sysctls, containerd, kubelet, services, the
NVIDIA runtime), ``gpu`` for the driver alone (``nvidia-smi`` answers, GPU count): ``-m gpu`` runs on any GPU
machine, Kubernetes or not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REPO = HERE.parent.parent
SKIP_REASON = (
    "acceptance suite for real nodes: run `pytest tests/infra --hosts=ssh://USER@NODE --expect-gpus N ...` "
    "or `pytest tests/infra --inventory-stack STACK` (docs/onprem-bootstrap.md)"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mlops-nodes", "mlops on-prem node acceptance")
    group.addoption("--inventory-stack", default=None, help="stack name (stacks/Pulumi.NAME.yaml) or stack file path")
    group.addoption("--expect-gpus", type=int, default=None, help="GPUs each --hosts node must have; 0: a CPU node")
    group.addoption("--expect-pool", default=None, help="node pool of the --hosts nodes (for labels and taints)")
    group.addoption("--expect-gpu-model", default=None, help="GPU model label of the --hosts nodes, e.g. nvidia-a100")
    group.addoption("--cuda-image", default=None,
                    help="an image already in containerd (k8s.io namespace) with nvidia-smi, to run through the "
                         "NVIDIA runtime")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "node: what the bootstrap configures on a node (OS, containerd, kubelet)")
    config.addinivalue_line("markers", "gpu: the NVIDIA driver alone (nvidia-smi answers, GPU count)")
    stack = config.getoption("inventory_stack", default=None)
    if stack and not config.getoption("hosts", default=None):
        config.option.hosts = ",".join(f"ssh://{n.ssh_user}@{n.address}" for n in load_inventory(stack).values())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("hosts", default=None) or config.getoption("inventory_stack", default=None):
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(skip)


@dataclass(frozen=True)
class Expected:
    """What one node must look like. ``labels``/``taints`` are None when the run was not told the pool."""

    name: str
    gpu: bool
    gpu_count: int | None
    labels: dict[str, str] | None = None
    taints: list[dict[str, str]] | None = None
    packages: list[str] = field(default_factory=list)


def load_inventory(stack: str) -> dict[str, Expected]:
    """Node address -> expectation, from a stack file, through the same config schema and rendering as `pulumi up`."""
    import yaml

    from components.bootstrap.render import node_plans, packages
    from infra.config import PROJECT, SECRET_KEYS, SecretValue, validate

    path = Path(stack) if stack.endswith((".yaml", ".yml")) else REPO / "stacks" / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text())
    raw = {}
    for key, value in (doc.get("config") or {}).items():
        short = key.removeprefix(f"{PROJECT}:")
        raw[short] = SecretValue(short) if short in SECRET_KEYS else value
    cfg = validate(raw, str(path))
    inventory = {}
    for plan in node_plans(cfg):
        pinned = packages(cfg.node_bootstrap, plan.gpu) if cfg.node_bootstrap else []
        inventory[plan.address] = Expected(plan.name, plan.gpu, plan.gpu_count, plan.labels, plan.taints, pinned)
    if not inventory:
        raise pytest.UsageError(f"{path}: no node has an address to test")
    return inventory


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

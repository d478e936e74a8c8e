"""The NVIDIA driver alone: runs on any GPU machine (`-m gpu`), with or without containerd and the kubelet."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gpu


def test_nvidia_driver_answers(host, gpu_node):
    smi = host.run("nvidia-smi --query-gpu=driver_version --format=csv,noheader")
    assert smi.rc == 0, f"nvidia-smi failed on {gpu_node.name}: {smi.stderr or smi.stdout}"
    assert smi.stdout.strip(), "nvidia-smi reported no driver version"


def test_gpu_count_matches_the_stack(host, gpu_node):
    listed = host.run("nvidia-smi -L")
    assert listed.rc == 0, listed.stderr
    gpus = [line for line in listed.stdout.splitlines() if line.startswith("GPU ")]
    assert len(gpus) == gpu_node.gpu_count, f"{gpu_node.name}: {len(gpus)} GPUs, expected {gpu_node.gpu_count}"


def test_every_gpu_reports_healthy_memory(host, gpu_node):
    """Each GPU the driver lists has memory and no uncorrectable ECC errors pending (a dead card reads as 0 MiB)."""
    query = host.run(
        "nvidia-smi --query-gpu=index,memory.total,ecc.errors.uncorrected.volatile.total --format=csv,noheader,nounits"
    )
    assert query.rc == 0, query.stderr
    for line in query.stdout.strip().splitlines():
        index, memory, ecc = (part.strip() for part in line.split(","))
        assert int(memory) > 0, f"GPU {index} reports no memory"
        assert ecc in ("0", "[N/A]", "N/A"), f"GPU {index} has {ecc} uncorrected ECC errors"

"""mlops:teams: one default team on the pipelines namespace; bad team config is refused naming the key and what is
allowed; the checks' copies of the training names stay equal to components/gpu.py."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from components import gpu
from infra.config import RESIDENCY_POLICY, ConfigError
from tests.components.kubernetes.helpers import stack_config


def test_default_is_one_team_ml_on_kubeflow_with_every_gpu():
    cfg = stack_config("aws-uae-prod")
    (team,) = cfg.teams
    assert (team.name, team.namespace) == ("ml", "kubeflow")
    assert cfg.team_gpu_quota(team) == cfg.gpu_capacity == 8 * 1 + 4 * 8


@pytest.mark.parametrize(
    "teams, message",
    [
        (
            [{"name": "ml", "namespace": "kubeflow", "gpuQuota": 41}],
            r"mlops:teams\[0\].gpuQuota = 41: more GPUs than .* \(40: gpu-a10g 8x1, gpu-train 4x8\); allowed: 0..40",
        ),
        ([{"name": "ml", "namespace": "kubeflow", "gpuQuota": -1}], r"mlops:teams\[0\].gpuQuota = -1: "),
        (
            [{"name": "ml", "namespace": "default"}],
            r"mlops:teams\[0\].namespace = 'default': not a team namespace; allowed: kubeflow, ml-workspace",
        ),
        (
            [{"name": "ml", "namespace": "kubeflow", "cpuQuota": "lots"}],
            r"mlops:teams\[0\].cpuQuota = 'lots': not a CPU quantity; allowed: ",
        ),
        (
            [{"name": "ml", "namespace": "kubeflow", "memoryQuota": "1G"}],
            r"mlops:teams\[0\].memoryQuota = '1G': not a memory quantity; allowed: .*Gi",
        ),
        (
            [{"name": "ml", "namespace": "kubeflow"}, {"name": "ml", "namespace": "ml-workspace"}],
            r"mlops:teams\[1\].name = 'ml': already used by mlops:teams\[0\]",
        ),
        (
            [{"name": "a", "namespace": "kubeflow"}, {"name": "b", "namespace": "kubeflow"}],
            r"mlops:teams\[1\].namespace = 'kubeflow': already used",
        ),
        ([], r"mlops:teams: "),
    ],
)
def test_bad_teams_are_refused_naming_the_key(teams, message):
    with pytest.raises(ConfigError, match=message):
        stack_config("aws-uae-prod", teams=teams)


def test_checks_copies_of_the_training_names_equal_components_gpu(monkeypatch):
    path = RESIDENCY_POLICY.parent / "checks" / "_mlops_context.py"
    spec = importlib.util.spec_from_file_location("_mlops_context", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "_mlops_context", module)
    spec.loader.exec_module(module)
    assert module.DEFAULT_TRAINING_QUEUE == gpu.TRAINING_QUEUE
    assert module.DEFAULT_TORCH_RUNTIME == gpu.TORCH_RUNTIME

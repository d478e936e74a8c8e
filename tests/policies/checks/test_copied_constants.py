"""Constants copied across the Checkov boundary equal their sources.

Custom checks run inside Checkov's own environment and can import only Checkov and the standard library
(docs: engineering notes), so what they compare against (the organisation's regions and tags, the GPU taint and
labels, the training names, the deploy identity, the mesh, personal-data purposes) is copied into
``policies/checks/``. Each copy is read from the check file's source (most check modules import Checkov, which is
not installed in this environment) and compared with the definition the platform itself uses.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

CHECKS = Path(__file__).resolve().parents[3] / "policies" / "checks"


def copied(file: str, name: str) -> Any:
    """The literal a check module assigns to ``name`` at module level."""
    tree = ast.parse((CHECKS / file).read_text())
    for node in tree.body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{file} assigns no {name}")


def _regions() -> dict[str, tuple[str, ...]]:
    from policies.organisation import load_residency_policy

    policy = load_residency_policy()
    return {cloud: policy[cloud] for cloud in ("aws", "azure")}  # on-prem sites are no cloud region to fall back to


def _required_tags() -> tuple[str, ...]:
    from policies.organisation import REQUIRED_TAGS

    return tuple(REQUIRED_TAGS)


def _gpu(name: str) -> Any:
    from components import gpu

    return getattr(gpu, name)


def _taint_effects() -> tuple[str, ...]:
    from components.aws.node_group import TAINT_EFFECTS

    return tuple(TAINT_EFFECTS)


def _terraform_effects() -> dict[str, str]:
    from components.aws.node_group import TAINT_EFFECTS

    return dict(TAINT_EFFECTS)


def _deploy_identity() -> dict[str, str]:
    from components.security.admission import DEPLOYER_SERVICE_ACCOUNT
    from components.services.kfp import NAMESPACE

    return {"namespace": NAMESPACE, "name": DEPLOYER_SERVICE_ACCOUNT}


def _personal_data_purposes() -> tuple[str, ...]:
    from infra.config import PERSONAL_DATA_PURPOSES

    return tuple(PERSONAL_DATA_PURPOSES)


def _mesh_namespace() -> str:
    from components.security.mesh import NAMESPACE

    return NAMESPACE


def _mesh_charts() -> tuple[str, ...]:
    from components import versions

    return tuple(c.name for c in (versions.ISTIO_BASE, versions.ISTIOD, versions.ISTIO_CNI, versions.ZTUNNEL))


def _namespace(name: str) -> Any:
    from components.kubernetes import namespace

    return getattr(namespace, name)


def _waypoint() -> str:
    from components.security.mesh import WAYPOINT

    return WAYPOINT


def _calico_chart() -> str:
    from components import versions

    return versions.CALICO.name


def _services(module: str, name: str) -> Any:
    import importlib

    return getattr(importlib.import_module(f"components.services.{module}"), name)


COPIES = {
    ("_mlops_context.py", "DEFAULT_ALLOWED_REGIONS"): lambda: _regions(),
    ("_mlops_context.py", "DEFAULT_REQUIRED_TAGS"): _required_tags,
    ("_mlops_context.py", "DEFAULT_GPU_TAINT"): lambda: _gpu("GPU_TAINT"),
    ("_mlops_context.py", "TAINT_EFFECTS"): _taint_effects,
    ("_mlops_context.py", "DEFAULT_TRAINING_QUEUE"): lambda: _gpu("TRAINING_QUEUE"),
    ("_mlops_context.py", "DEFAULT_TORCH_RUNTIME"): lambda: _gpu("TORCH_RUNTIME"),
    ("_mlops_context.py", "DEFAULT_DEPLOY_IDENTITY"): _deploy_identity,
    ("_mlops_training.py", "GPU_RESOURCE"): lambda: _gpu("GPU_RESOURCE"),
    ("aws_gpu_pool_karpenter.py", "GPU_RESOURCE"): lambda: _gpu("GPU_RESOURCE"),
    ("aws_gpu_pool_karpenter.py", "POOL_LABEL"): lambda: _gpu("LABEL_POOL"),
    ("aws_gpu_node_group_taint.py", "TERRAFORM_EFFECT"): _terraform_effects,
    ("_mlops_storage.py", "PERSONAL_DATA_PURPOSES"): _personal_data_purposes,
    ("_mlops_mesh.py", "ROOT_NAMESPACE"): _mesh_namespace,
    ("_mlops_mesh.py", "MESH_CHARTS"): _mesh_charts,
    ("_mlops_mesh.py", "TIER_LABEL"): lambda: _namespace("LABEL_TIER"),
    ("_mlops_mesh.py", "ENROLLED_TIERS"): lambda: _namespace("MESH_TIERS"),
    ("_mlops_mesh.py", "WAYPOINT"): _waypoint,
    ("k8s_namespace_default_deny.py", "TIER_LABEL"): lambda: _namespace("LABEL_TIER"),
    ("k8s_onprem_network_policy_engine.py", "CHART"): _calico_chart,
    ("_mlops_db_tls.py", "ANNOTATION"): lambda: _services("feature_store_config", "TLS_ANNOTATION"),
    ("_mlops_db_tls.py", "FEAST_CONFIG_SECRET"): lambda: _services("feature_store", "CONFIG_SECRET"),
}


def _same(copy: Any, source: Any) -> bool:
    if isinstance(source, (list, tuple)):
        return isinstance(copy, (list, tuple)) and list(copy) == list(source)
    if isinstance(source, dict) and isinstance(copy, dict):
        return copy.keys() == source.keys() and all(_same(copy[k], source[k]) for k in source)
    return copy == source


@pytest.mark.parametrize(("file", "name"), list(COPIES), ids=[f"{f}:{n}" for f, n in COPIES])
def test_the_checks_copy_equals_its_source(file: str, name: str) -> None:
    copy, source = copied(file, name), COPIES[(file, name)]()
    assert _same(copy, source), f"policies/checks/{file} {name} = {copy!r}, its source says {source!r}"


def test_the_mesh_label_the_checks_read_is_the_one_namespaces_carry() -> None:
    assert copied("_mlops_mesh.py", "DATAPLANE_LABEL") in _namespace("MESH_LABELS")

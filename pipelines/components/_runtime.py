"""How every component carries its code and dependencies to the cluster (see docs/pipelines.md, "Packaging").

Lightweight Python components on a pinned Python base image: third-party packages come from ``packages_to_install``
(exact versions, the same as constraints.txt), and this project's own step code (``pipelines.steps``,
``pipelines.ml``, ``pipelines.features``) is embedded into the component with KFP's ``embedded_artifact_path``,
which unpacks it and puts it first on ``sys.path`` at run time. No image to build, and the local SubprocessRunner
runs exactly the code that the cluster runs.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from functools import cache
from pathlib import Path

BASE_IMAGE = "python:3.11.14-slim-bookworm"
"""Python of the platform's own environment. Mirror it into the cluster's registry and pin it there by digest."""

NUMPY = "numpy==2.4.6"
PANDAS = "pandas==2.3.3"
PYARROW = "pyarrow==26.0.1"
TORCH = "torch==2.13.0"
FEAST = "feast[duckdb]==0.67.0"
PYYAML = "PyYAML==6.0.4"
FAIRLEARN = "fairlearn==0.15.0"
KUBERNETES = "kubernetes==30.1.0"
REQUESTS = "requests==2.33.0"
FSSPEC = "fsspec==2026.9.0"
S3FS = "s3fs==2026.9.0"
ADLFS = "adlfs==2026.8.0"
MODEL_STORE_PACKAGES = [FSSPEC, S3FS, ADLFS]
"""The deploy step writes model versions into the models bucket through fsspec: s3fs for S3 (AWS, MinIO on-prem),
adlfs for Azure Blob/ADLS. Installed in the step's pod only: s3fs's botocore needs python-dateutil<3, which the
development environment (dateutil 4) cannot co-install, so tests there use the local filesystem."""

DATA_PACKAGES = [NUMPY, PANDAS, PYARROW]
TRAIN_PACKAGES = [*DATA_PACKAGES, TORCH]
DISTRIBUTED_TRAIN_PACKAGES = [*TRAIN_PACKAGES, KUBERNETES, *MODEL_STORE_PACKAGES]
"""Training on local ranks or as a Kubeflow TrainJob, with checkpoints and the model on an object store."""
GATE_PACKAGES = [NUMPY, PYYAML]
"""The gate reads the embedded policy files (YAML) and draws the fairness metrics' confidence bounds (numpy)."""
MITIGATE_PACKAGES = [
    *TRAIN_PACKAGES,
    FAIRLEARN,
    "scikit-learn==1.9.1",
    "scipy==1.17.1",
    "narwhals==2.29.0",
    "joblib==1.6.0",
    "threadpoolctl==3.8.0",
]
"""fairlearn's ThresholdOptimizer, with its dependencies pinned to the versions constraints.txt holds."""
FEAST_PACKAGES = [FEAST, *DATA_PACKAGES]
OPTUNA = "optuna==5.0.0"
SEARCH_PACKAGES = [
    *TRAIN_PACKAGES,
    OPTUNA,
    "alembic==1.20.1",
    "SQLAlchemy==2.1.9",
    "Mako==1.4.3",
    "MarkupSafe==3.0.4",
    "colorlog==6.12.0",
    "tqdm==4.70.1",
    PYYAML,
    "packaging==26.4",
    KUBERNETES,
]
"""The search step: Optuna (and its dependencies, at constraints.txt's versions) for the local engine, the
Kubernetes client for the Katib engine."""

PIPELINES_DIR = Path(__file__).resolve().parents[1]
EMBEDDED_PACKAGES = ("features", "ml", "steps", "serving")
EMBEDDED_MODULES = ("registry.py", "lineage.py", "submit.py", "alerts.py", "retrain.py", "paths.py")
"""Top-level modules the deploy, monitor and reject steps use (model registry, lineage records, the KFP API client,
alerts, the retraining parameters, the local working directory the registry and feature store default to)."""
EMBEDDED_POLICY_FILES = (
    "policies/fairness.yaml",
    "policies/exceptions/fairness.yaml",
    "policies/suppressions/approvers.yaml",
)
"""The fairness policy, its reviewed exceptions and the approvers, embedded beside ``pipelines/`` (the layout of the
repository): the gate is judged by the reviewed files compiled into the pipeline, never by a run parameter, and the
compiled-file staleness test notices an edit that was not recompiled."""
STEP_EMBEDDED_PACKAGES = ("features", "ml", "steps")
"""What the steps before the release embed (data, search, training, evaluation, gate): no ``serving``, which none of
them imports, to stay under the argument limit below."""
SERVING_UNUSED_STEPS = (
    "pipelines/steps/load_data.py",
    "pipelines/steps/validate_data.py",
    "pipelines/steps/mitigate.py",
    "pipelines/steps/evaluate.py",
    "pipelines/steps/fairness_policy.py",
    "pipelines/steps/gate.py",
)
"""Step modules the release components (approve, deploy, reject, monitor) never import: left out of their archive."""
TRAINING_FILES = (
    "pipelines/ml/search_space.py",
    "pipelines/ml/trial_worker.py",
    "pipelines/steps/search.py",
    "pipelines/steps/katib.py",
    "pipelines/ml/checkpoints.py",
    "pipelines/ml/ddp_worker.py",
    "pipelines/steps/trainjob.py",
    "components/__init__.py",
    "components/gpu.py",
)
"""The search and training engines (Optuna/Katib, torchrun/TrainJob, durable checkpoints) and the GPU scheduling names
they place work with (the same definitions the stacks install, not a copy) are embedded into the search and training
components only. KFP inlines the embedded code as one base64 argument of the container command, and Linux refuses a
single argument over 128 KiB (MAX_ARG_STRLEN): with everything embedded everywhere, commands measured 134,249."""


@cache
def embedded_code(
    packages: tuple[str, ...] = EMBEDDED_PACKAGES, training: bool = False, without: tuple[str, ...] = ()
) -> str:
    """A directory holding ``pipelines/<packages>`` (Python files only; :data:`TRAINING_FILES` only with ``training``;
    none of ``without``), the top-level modules and the policy files, for ``embedded_artifact_path``.

    Staged under the temp dir by content hash, so repeated imports reuse it and an edit makes a new one.
    """
    root = PIPELINES_DIR.parent
    code = [
        p
        for pkg in packages
        for p in (PIPELINES_DIR / pkg).glob("*.py")
        if str(p.relative_to(root)) not in (*TRAINING_FILES, *without)
    ]
    files = sorted(
        [
            *code,
            *(PIPELINES_DIR / m for m in EMBEDDED_MODULES),
            *(root / f for f in EMBEDDED_POLICY_FILES),
            *((root / f for f in TRAINING_FILES) if training else ()),
        ]
    )
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    stage = Path(tempfile.gettempdir()) / f"mlops-kfp-embed-{digest.hexdigest()[:16]}"
    if not (stage / "pipelines" / "__init__.py").exists():
        tmp = Path(tempfile.mkdtemp(prefix="mlops-kfp-embed-"))
        (tmp / "pipelines").mkdir()
        (tmp / "pipelines" / "__init__.py").write_text("")
        for path in files:
            target = tmp / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        try:
            tmp.rename(stage)
        except OSError:  # another process staged it first
            shutil.rmtree(tmp, ignore_errors=True)
    return str(stage)


def component(
    packages: list[str],
    embed: tuple[str, ...] = EMBEDDED_PACKAGES,
    training: bool = False,
    without: tuple[str, ...] = (),
):
    """``dsl.component`` with this project's base image, pinned packages and embedded step code (``embed``: which
    of :data:`EMBEDDED_PACKAGES`; ``training``: with the search and training engines; ``without``: files left out).
    The whole archive travels base64 in ONE command argument, which Linux caps at 128 KiB
    (``pipelines.compile.MAX_ARGUMENT``), so a component that needs less carries less."""
    from kfp import dsl

    return dsl.component(
        base_image=BASE_IMAGE,
        packages_to_install=packages,
        embedded_artifact_path=embedded_code(tuple(embed), training, tuple(without)),
    )

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
from functools import lru_cache
from pathlib import Path

BASE_IMAGE = "python:3.11.14-slim-bookworm"
"""Python of the platform's own environment. Mirror it into the cluster's registry and pin it there by digest."""

NUMPY = "numpy==2.4.6"
PANDAS = "pandas==2.3.3"
PYARROW = "pyarrow==26.0.1"
TORCH = "torch==2.13.0"
FEAST = "feast[duckdb]==0.67.0"
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
FEAST_PACKAGES = [FEAST, *DATA_PACKAGES]

PIPELINES_DIR = Path(__file__).resolve().parents[1]
EMBEDDED_PACKAGES = ("features", "ml", "steps", "serving")
EMBEDDED_MODULES = ("registry.py", "lineage.py", "submit.py", "alerts.py", "retrain.py")
"""Top-level modules the deploy, monitor and reject steps use (model registry, lineage records, the KFP API client,
alerts, the retraining parameters)."""


@lru_cache(maxsize=1)
def embedded_code() -> str:
    """A directory holding ``pipelines/{features,ml,steps}`` (Python files only), for ``embedded_artifact_path``.

    Staged under the temp dir by content hash, so repeated imports reuse it and an edit makes a new one.
    """
    files = sorted([*(p for pkg in EMBEDDED_PACKAGES for p in (PIPELINES_DIR / pkg).glob("*.py")),
                    *(PIPELINES_DIR / m for m in EMBEDDED_MODULES)])
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(PIPELINES_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    stage = Path(tempfile.gettempdir()) / f"mlops-kfp-embed-{digest.hexdigest()[:16]}"
    if not (stage / "pipelines" / "__init__.py").exists():
        tmp = Path(tempfile.mkdtemp(prefix="mlops-kfp-embed-"))
        (tmp / "pipelines").mkdir()
        (tmp / "pipelines" / "__init__.py").write_text("")
        for path in files:
            target = tmp / "pipelines" / path.relative_to(PIPELINES_DIR)
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(path, target)
        try:
            tmp.rename(stage)
        except OSError:  # another process staged it first
            shutil.rmtree(tmp, ignore_errors=True)
    return str(stage)


def component(packages: list[str]):
    """``dsl.component`` with this project's base image, pinned packages and embedded step code."""
    from kfp import dsl

    return dsl.component(base_image=BASE_IMAGE, packages_to_install=packages, embedded_artifact_path=embedded_code())

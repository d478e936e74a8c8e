"""The ``mlops`` command: the typer app (:mod:`infra.cli.app`: preview, local) with the gate, pipeline, ops and data
commands registered from their modules by plain imports. Every module keeps its heavy libraries (pulumi SDKs,
checkov, feast, torch, kfp) inside its commands, so ``mlops --help`` stays fast."""

from infra.cli import gate, ops, pipeline, privacy
from infra.cli.app import app, console, err_console, fail, main

gate.register(app)
pipeline.register(app)
ops.register(app, pipeline.pipeline_app)
privacy.register(app)

__all__ = ["app", "console", "err_console", "fail", "main"]

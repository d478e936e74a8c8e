"""Where the local runs keep their state: one name for the working directory of ``mlops local`` and the other local
commands (feature store, pipeline runs, model registry, serving logs, reports).

Standard library only: the CLI imports it to show its defaults, and it is embedded into the pipeline's components
(``pipelines/components/_runtime.py``) with the registry and the feature store that use it.
"""

from __future__ import annotations

from pathlib import Path

LOCAL_RUN = Path(".local-run")
"""The local working directory, relative to where the command runs."""

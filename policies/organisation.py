"""The organisation's facts that the stack config (:mod:`infra.config`) and the policy gate share: the project
namespace, the required tags, the default team and the data-residency policy (``policies/residency.yaml``).

They live in ``policies`` because the gate must read them without importing ``infra`` (the import direction is
infra -> policies); :mod:`infra.config` re-exports them under their old names.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

PROJECT = "mlops"
"""Pulumi project name, and so the namespace of every config key (``mlops:region``)."""

REQUIRED_TAGS = ("owner", "cost-center", "data-classification")
TARGETS = ("aws", "azure", "onprem")
RESIDENCY_POLICY = Path(__file__).resolve().parent / "residency.yaml"
"""The organisation's data-residency policy: allowed regions (aws), locations (azure) and sites (onprem) per
target. A stack's ``mlops:residency.allowedRegions`` may only narrow its target's list."""

STACKS_DIR = "stacks"
"""Where the stacks' config files are, relative to the repository root."""


def stack_file(stack: str) -> str:
    """A stack's config file relative to the repository root (``stacks/Pulumi.<stack>.yaml``), as messages and
    reports name it: the one place that spells the path."""
    return f"{STACKS_DIR}/Pulumi.{stack}.yaml"


DEFAULT_TEAM = {"name": "ml", "namespace": "kubeflow"}
"""The one team a stack without ``mlops:teams`` gets: the pipelines namespace, where KFP runs training."""


class ConfigError(Exception):
    """Configuration (a stack's or the organisation policy) that cannot be deployed. The message is meant for the user,
    as is. Defined here so the preview and the gate recognise it without importing infra."""


def load_residency_policy(path: Path | str = RESIDENCY_POLICY) -> dict[str, tuple[str, ...]]:
    """``{target: allowed regions}`` from the organisation policy file; :class:`ConfigError` naming the file when it
    is missing or malformed (every target listed, each a list of non-empty strings)."""
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: the organisation residency policy cannot be read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: the organisation residency policy is not valid YAML: {exc}") from None
    regions = raw.get("allowedRegions") if isinstance(raw, dict) else None
    if not isinstance(regions, dict):
        raise ConfigError(
            f"{path}: the organisation residency policy needs a mapping allowedRegions: "
            f"{{{', '.join(f'{t}: [...]' for t in TARGETS)}}}"
        )
    policy: dict[str, tuple[str, ...]] = {}
    for target in TARGETS:
        value = regions.get(target)
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(
                f"{path}: allowedRegions.{target} = {value!r}: must be a list of region names "
                f"(an empty list allows nothing for that target)"
            )
        policy[target] = tuple(value)
    unknown = sorted(set(regions) - set(TARGETS))
    if unknown:
        raise ConfigError(
            f"{path}: allowedRegions has unknown target(s) {', '.join(map(str, unknown))}; "
            f"targets: {', '.join(TARGETS)}"
        )
    return policy


@lru_cache(maxsize=1)
def organisation_regions() -> dict[str, tuple[str, ...]]:
    """The organisation policy (:data:`RESIDENCY_POLICY`), read once."""
    return load_residency_policy()

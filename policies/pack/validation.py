"""The policy pack's stack validation: the resources the engine sees, through the same gate as ``mlops gate``.

The engine hands a stack policy every resource of the stack (``PolicyResource``: type, name, URN, ``props``,
parent, provider, dependencies, property dependencies). ``props`` are the resource's outputs: during a preview the
checked inputs plus unknown computed values, camelCase like inputs. Each resource becomes the record a ``pulumi
preview --json`` step gives (:func:`policies.inputs.from_engine_states`), then :func:`policies.gate.run_gate`
translates, runs Checkov (``.venv-checkov``; ``MLOPS_CHECKOV`` names another) with the custom checks and applies
the reviewed suppressions, exactly as the CLI does.

Fail closed: every failed check, every expired suppression and any reason the gate could not run (Checkov missing
or crashing, an untranslatable resource, a bad suppression file, a bug) is reported as a violation, so with the
pack's mandatory enforcement ``pulumi up --policy-pack policies/pack`` stops.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

PACK_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACK_DIR.parents[1]
SOURCE = "pulumi policy pack (policies/pack)"
POLICY_NAME = "checkov-policy-gate"
POLICY_DESCRIPTION = (
    "Checkov and the platform's policies pass on every resource, reviewed suppressions aside (docs/policy-gate.md)."
)
ReportViolation = Callable[[str, str | None], None]


def pack_metadata() -> dict[str, str]:
    """``name`` and ``description`` from PulumiPolicy.yaml (Pulumi itself takes the name from the running pack)."""
    import yaml

    meta = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text()) or {}
    return {"name": str(meta["name"]), "description": " ".join(str(meta.get("description", "")).split())}


def _unknown_sentinels() -> frozenset[str]:
    from pulumi_policy import proxy

    return frozenset(
        value for name, value in vars(proxy).items() if name.startswith("UNKNOWN_") and name.endswith("_VALUE")
    )


def plain(value: Any, unknowns: frozenset[str]) -> Any:
    """Engine properties -> plain JSON values. Reads under pulumi_policy's unknown-checking proxies (reading through
    them raises on a value not known before deployment, which would turn the whole policy into an advisory notice)
    and writes every kind of unknown as the one sentinel the translation knows."""
    from policies.preview.model import UNKNOWN

    if isinstance(value, str):
        return UNKNOWN if value in unknowns else value
    if isinstance(value, Mapping):
        return {str(k): plain(v, unknowns) for k, v in (value if isinstance(value, dict) else _target(value)).items()}
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        return [plain(v, unknowns) for v in (value if isinstance(value, list) else _target(value))]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return f"[{type(value).__name__}]"  # assets and archives: content Checkov does not read


def _target(proxy: Any) -> Any:
    """What a pulumi_policy proxy wraps (its documented escape hatch: the ``"__target"`` key)."""
    return proxy["__target"]


def is_custom(resource: Any) -> bool:
    """Components have no provider; a resource of a provider Checkov has checks for counts as custom regardless,
    so that it is translated (or fails the gate), never waved through as a component."""
    from policies.translate import CHECKED_PACKAGES

    token = resource.resource_type
    return (
        resource.provider is not None
        or token.startswith("pulumi:providers:")
        or token.split(":", 1)[0] in CHECKED_PACKAGES
    )


def engine_states(resources: Iterable[Any]) -> list[dict[str, Any]]:
    """``PolicyResource`` records -> resource states shaped like a ``pulumi preview --json`` step's ``newState``."""
    unknowns = _unknown_sentinels()
    states = []
    for r in resources:
        props = plain(r.props, unknowns)
        parent = r.parent.urn if r.parent is not None else getattr(r.opts, "parent", None)
        states.append(
            {
                "urn": r.urn,
                "type": r.resource_type,
                "custom": is_custom(r),
                "inputs": props,
                "outputs": props,
                "parent": parent,
                "provider": r.provider.urn if r.provider is not None else None,
                "dependencies": [d.urn for d in r.dependencies],
                "propertyDependencies": {k: [d.urn for d in deps] for k, deps in r.property_dependencies.items()},
            }
        )
    return states


def previews(resources: Iterable[Any]) -> list[Any]:
    """The gate's records for the engine's resources; a stack of this project gets its stack file's context
    (region, allowed regions, required tags) as ``mlops gate --stack`` does."""
    from policies.inputs import attach_context, from_engine_states
    from policies.organisation import PROJECT, stack_file

    results = from_engine_states(engine_states(resources), SOURCE)
    for result in results:
        path = REPO_ROOT / stack_file(result.stack)
        if result.project == PROJECT and path.is_file():
            result.source = str(path)
            attach_context(result)
    return results


def violation_message(finding: Any) -> str:
    where = f"{finding.type} {finding.name!r}" + (f" (in {finding.component})" if finding.component else "")
    parts = [f"{finding.check_id} [{finding.severity}] {finding.check_name}: {where}."]
    if finding.note:
        parts.append(f"Note: {finding.note}.")
    if finding.remediation:
        parts.append(f"Remediation: {finding.remediation.strip()}")
    if finding.guideline:
        parts.append(f"Guide: {finding.guideline}")
    return " ".join(parts)


ALLOW_UNSCANNED_ENV = "MLOPS_GATE_ALLOW_UNSCANNED"
"""Comma-separated provider packages the pack may leave unscanned: ``mlops gate --allow-unscanned`` for the engine
(e.g. ``MLOPS_GATE_ALLOW_UNSCANNED=command pulumi up --policy-pack policies/pack``)."""


def allowed_unscanned() -> list[str]:
    import os

    return [p.strip() for p in os.environ.get(ALLOW_UNSCANNED_ENV, "").split(",") if p.strip()]


def validate_stack(args: Any, report_violation: ReportViolation) -> None:
    """Stack validation: gate the engine's resources and report every failure (never raises)."""
    from policies.gate import GateError, run_gate
    from policies.inputs import InputError

    try:
        report = run_gate(previews(args.resources), allow_unscanned=allowed_unscanned())
    except (GateError, InputError) as exc:
        report_violation(f"the policy gate could not run, so nothing is let through: {exc}", None)
        return
    except Exception as exc:  # noqa: BLE001 - a gate that breaks must block the update, not let it pass
        report_violation(f"the policy gate could not run, so nothing is let through: {type(exc).__name__}: {exc}", None)
        return
    for finding in report.failed:
        report_violation(violation_message(finding), finding.urn)
    for suppression in report.expired:
        report_violation(
            f"suppression of {suppression.check} on {suppression.resource!r} expired on {suppression.expires.isoformat()} "
            f"({suppression.where}): review it and renew the expiry date, or remove it",
            None,
        )


def gate_policy() -> Any:
    """The pack's one policy; its enforcement comes from the pack (mandatory)."""
    from pulumi_policy import StackValidationPolicy

    return StackValidationPolicy(name=POLICY_NAME, description=POLICY_DESCRIPTION, validate=validate_stack)

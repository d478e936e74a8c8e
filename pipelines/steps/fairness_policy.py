"""The organisation's fairness policy and its reviewed exceptions, applied by the release gate.

``policies/fairness.yaml`` holds the floors (per metric a maximum difference and a minimum ratio, a minimum group size,
a confidence level, the sensitive attributes); ``policies/exceptions/fairness.yaml`` the waivers a run may name;
``policies/suppressions/approvers.yaml`` who may approve one. Every file is checked strictly: a bad one is refused
with its path, the key and what is allowed. On a cluster the three files travel inside the components' embedded code
(``pipelines/components/_runtime.py``), next to ``pipelines/`` as in the repository, so the floors a run is judged
by are the reviewed ones compiled into the pipeline, never a run parameter.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
"""The repository, or the directory a component unpacked its embedded code into (``policies/`` sits beside
``pipelines/`` in both)."""
POLICY_FILE = ROOT / "policies" / "fairness.yaml"
EXCEPTIONS_FILE = ROOT / "policies" / "exceptions" / "fairness.yaml"
APPROVERS_FILE = ROOT / "policies" / "suppressions" / "approvers.yaml"
POLICY_FILES = (POLICY_FILE, EXCEPTIONS_FILE, APPROVERS_FILE)

METRICS = ("demographic_parity", "equalized_odds")
FLOOR_KEYS = ("max_difference", "min_ratio")
RUN_PARAMETERS = {
    "max_demographic_parity_difference": ("demographic_parity", "max_difference"),
    "min_demographic_parity_ratio": ("demographic_parity", "min_ratio"),
    "max_equalized_odds_difference": ("equalized_odds", "max_difference"),
    "min_equalized_odds_ratio": ("equalized_odds", "min_ratio"),
}
"""Pipeline parameters a run may use to tighten a floor, and the floor each one tightens."""
MIN_REASON_CHARS = 10
EXCEPTION_KEYS = ("id", "checks", "reason", "requested_by", "approved_by", "expires")


class PolicyError(ValueError):
    """A policy file, exception record or run parameter the gate cannot accept."""


@dataclass(frozen=True)
class FairnessPolicy:
    source: str
    sha256: str
    attributes: tuple[str, ...]
    min_group_size: int
    confidence_level: float
    floors: dict[str, dict[str, float]]
    """metric -> {"max_difference": x, "min_ratio": y}"""
    excluded_groups: dict[tuple[str, str], str] = field(default_factory=dict)
    """(attribute, group) -> reason"""

    def tightened(self, run: Mapping[str, float | None]) -> dict[str, dict[str, float]]:
        """The floors after a run's parameters; a parameter looser than the organisation's floor is refused."""
        floors = {m: dict(v) for m, v in self.floors.items()}
        for name, value in run.items():
            if name not in RUN_PARAMETERS:
                raise PolicyError(f"unknown fairness parameter {name!r}; allowed: {', '.join(RUN_PARAMETERS)}")
            if value is None:
                continue
            metric, key = RUN_PARAMETERS[name]
            floor = floors[metric][key]
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise PolicyError(f"{name} must be a number, got {value!r}")
            looser = value > floor if key == "max_difference" else value < floor
            if looser:
                bound = "at most" if key == "max_difference" else "at least"
                raise PolicyError(
                    f"{name}={value} is looser than the organisation's floor {metric}.{key}={floor} in "
                    f"{self.source}; a run may only tighten it ({bound} {floor})"
                )
            floors[metric][key] = float(value)
        return floors

    def describe(self) -> dict:
        return {
            "source": self.source,
            "sha256": self.sha256,
            "attributes": list(self.attributes),
            "min_group_size": self.min_group_size,
            "confidence_level": self.confidence_level,
            "floors": self.floors,
            "excluded_groups": [
                {"attribute": a, "group": g, "reason": r} for (a, g), r in sorted(self.excluded_groups.items())
            ],
        }


@dataclass(frozen=True)
class FairnessException:
    id: str
    checks: tuple[str, ...]
    reason: str
    requested_by: str
    approved_by: str
    expires: dt.date
    source: str

    def describe(self) -> dict:
        return {
            "id": self.id,
            "checks": list(self.checks),
            "reason": self.reason,
            "requested_by": self.requested_by,
            "approved_by": self.approved_by,
            "expires": self.expires.isoformat(),
            "source": self.source,
        }


def _read_yaml(path: Path, what: str) -> Any:
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"{path}: missing; the {what} is required") from None
    except OSError as exc:
        raise PolicyError(f"{path}: cannot be read: {exc.strerror}") from None
    try:
        return text, yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from None


def _mapping(value: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
    allowed = (*required, *optional)
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: expected a mapping with keys {', '.join(allowed)}, got {type(value).__name__}")
    unknown = [k for k in value if k not in allowed]
    missing = [k for k in required if k not in value]
    if unknown or missing:
        problem = f"unknown key(s) {', '.join(map(str, unknown))}" if unknown else f"missing {', '.join(missing)}"
        raise PolicyError(f"{where}: {problem}; allowed keys: {', '.join(allowed)}")
    return value


def _number(value: Any, where: str, low: float, high: float, *, integer: bool = False, open_low: bool = False) -> float:
    kind = "a whole number" if integer else "a number"
    ok = isinstance(value, int if integer else (int, float)) and not isinstance(value, bool)
    if ok and math.isfinite(value) and (low < value if open_low else low <= value) and value <= high:
        return int(value) if integer else float(value)
    side = "(" if open_low else "["
    raise PolicyError(f"{where}: must be {kind} in {side}{low}, {high}], got {value!r}")


def _whole(value: Any, where: str, low: int, high: int) -> int:
    return int(_number(value, where, low, high, integer=True))


def load_policy(path: Path | str = POLICY_FILE) -> FairnessPolicy:
    """Read and strictly validate the organisation's fairness policy."""
    from pipelines.features import schema

    path = Path(path)
    text, doc = _read_yaml(path, "organisation's fairness policy")
    doc = _mapping(
        doc,
        str(path),
        (
            "version",
            "favourable_outcome",
            "sensitive_attributes",
            "min_group_size",
            "excluded_groups",
            "confidence_level",
            "metrics",
        ),
    )
    if doc["version"] != 1:
        raise PolicyError(f"{path}: version: must be 1, got {doc['version']!r}")
    if doc["favourable_outcome"] != "approval":
        raise PolicyError(
            f"{path}: favourable_outcome: must be 'approval' (the decision is approve/decline), "
            f"got {doc['favourable_outcome']!r}"
        )
    declared = schema.SENSITIVE_ATTRIBUTES
    raw_attributes = doc["sensitive_attributes"]
    if raw_attributes == "declared":
        attributes = tuple(declared)
    elif (
        isinstance(raw_attributes, list)
        and raw_attributes
        and all(a in declared for a in raw_attributes)
        and len(set(raw_attributes)) == len(raw_attributes)
    ):
        attributes = tuple(raw_attributes)
    else:
        raise PolicyError(
            f"{path}: sensitive_attributes: must be 'declared' or a non-empty list of distinct names "
            f"from {', '.join(declared)} (what the feature service declares), got {raw_attributes!r}"
        )
    metrics = _mapping(doc["metrics"], f"{path}: metrics", METRICS)
    floors = {}
    for metric in METRICS:
        spec = _mapping(metrics[metric], f"{path}: metrics.{metric}", FLOOR_KEYS)
        floors[metric] = {
            "max_difference": _number(spec["max_difference"], f"{path}: metrics.{metric}.max_difference", 0.0, 1.0),
            "min_ratio": _number(spec["min_ratio"], f"{path}: metrics.{metric}.min_ratio", 0.0, 1.0),
        }
    excluded = {}
    if not isinstance(doc["excluded_groups"], list):
        raise PolicyError(f"{path}: excluded_groups: must be a list (empty for none)")
    for i, raw in enumerate(doc["excluded_groups"]):
        where = f"{path}: excluded_groups[{i}]"
        entry = _mapping(raw, where, ("attribute", "group", "reason"))
        if entry["attribute"] not in attributes:
            raise PolicyError(f"{where}.attribute: must be one of {', '.join(attributes)}, got {entry['attribute']!r}")
        allowed = _allowed_groups(entry["attribute"])
        if str(entry["group"]) not in allowed:
            raise PolicyError(f"{where}.group: must be one of {', '.join(allowed)}, got {entry['group']!r}")
        if not isinstance(entry["reason"], str) or len(entry["reason"].strip()) < MIN_REASON_CHARS:
            raise PolicyError(f"{where}.reason: say why, in {MIN_REASON_CHARS} characters at least")
        excluded[(entry["attribute"], str(entry["group"]))] = entry["reason"].strip()
    return FairnessPolicy(
        source=str(path),
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        attributes=attributes,
        min_group_size=_whole(doc["min_group_size"], f"{path}: min_group_size", 1, 10**9),
        confidence_level=_number(doc["confidence_level"], f"{path}: confidence_level", 0.5, 0.999),
        floors=floors,
        excluded_groups=excluded,
    )


def _allowed_groups(attribute: str) -> list[str]:
    from pipelines.features.schema import service_fields

    return [str(v) for f in service_fields() if f.name == attribute for v in f.allowed]


def check_ids(attributes: tuple[str, ...]) -> list[str]:
    """Every fairness check the gate runs: ``<attribute>/<metric>/<difference|ratio>``, ``<attribute>/group_size``."""
    return [
        *(f"{a}/{m}/{k}" for a in attributes for m in METRICS for k in ("difference", "ratio")),
        *(f"{a}/group_size" for a in attributes),
    ]


def load_approvers(path: Path | str = APPROVERS_FILE) -> frozenset[str]:
    path = Path(path)
    _, doc = _read_yaml(path, "list of approvers")
    approvers = _mapping(doc, str(path), ("approvers",))["approvers"]
    if not isinstance(approvers, list) or not approvers or not all(isinstance(a, str) and a.strip() for a in approvers):
        raise PolicyError(f"{path}: approvers: must be a non-empty list of approver identities (strings)")
    return frozenset(a.strip() for a in approvers)


def load_exception(
    exception_id: str,
    attributes: tuple[str, ...],
    path: Path | str = EXCEPTIONS_FILE,
    approvers_path: Path | str = APPROVERS_FILE,
    today: dt.date | None = None,
) -> FairnessException:
    """The exception record ``exception_id``, validated: well-formed, approved by a listed approver, not expired."""
    path = Path(path)
    _, doc = _read_yaml(path, "file of fairness exceptions")
    entries = _mapping(doc, str(path), ("exceptions",))["exceptions"]
    if not isinstance(entries, list):
        raise PolicyError(f"{path}: exceptions: must be a list of exception records")
    matches = [(i, e) for i, e in enumerate(entries) if isinstance(e, dict) and e.get("id") == exception_id]
    if not matches:
        raise PolicyError(f"{path}: no exception with id {exception_id!r}")
    if len(matches) > 1:
        raise PolicyError(f"{path}: exception id {exception_id!r} is used {len(matches)} times; ids must be unique")
    index, raw = matches[0]
    where = f"{path}: exceptions[{index}] ({exception_id})"
    entry = _mapping(raw, where, EXCEPTION_KEYS)
    known = check_ids(attributes)
    checks = entry["checks"]
    if not isinstance(checks, list) or not checks or not all(c in known for c in checks):
        raise PolicyError(
            f"{where}.checks: must be a non-empty list of check ids from {', '.join(known)}, got {checks!r}"
        )
    for key in ("reason", "requested_by", "approved_by"):
        value = entry[key]
        minimum = MIN_REASON_CHARS if key == "reason" else 1
        if not isinstance(value, str) or len(value.strip()) < minimum:
            raise PolicyError(f"{where}.{key}: must be text of {minimum} character(s) at least, got {value!r}")
    expires = entry["expires"]
    if isinstance(expires, str):
        try:
            expires = dt.date.fromisoformat(expires)
        except ValueError:
            pass
    if not isinstance(expires, dt.date) or isinstance(expires, dt.datetime):
        raise PolicyError(f"{where}.expires: must be a date YYYY-MM-DD, got {entry['expires']!r}")
    approvers = load_approvers(approvers_path)
    if entry["approved_by"].strip() not in approvers:
        raise PolicyError(
            f"{where}.approved_by: {entry['approved_by']!r} is not an approver listed in "
            f"{approvers_path}; the exception is not honoured"
        )
    today = today or dt.date.today()
    if expires < today:
        raise PolicyError(f"{where}: expired on {expires.isoformat()}; renew it with a new review")
    return FairnessException(
        exception_id,
        tuple(checks),
        entry["reason"].strip(),
        entry["requested_by"].strip(),
        entry["approved_by"].strip(),
        expires,
        str(path),
    )


def fairness_checks(evaluation: dict, policy: FairnessPolicy, floors: dict[str, dict[str, float]]) -> dict:
    """Judge every sensitive attribute the policy names: group sizes, then each metric's confidence bound.

    Returns ``{"checks": [...], "groups": {attribute: {group: rows}}, "excluded": [...]}``; a check is
    ``{"check", "attribute", "metric", "value", "bound", "floor", "rule", "passed", "detail"}``.
    """
    from pipelines.ml.fairness import confidence_bounds, point_metrics

    checks: list[dict[str, Any]] = []
    sizes: dict[str, dict[str, int]] = {}
    excluded: list[dict[str, Any]] = []
    evaluated: dict = evaluation["fairness"] if isinstance(evaluation.get("fairness"), dict) else {}
    for attribute in policy.attributes:
        raw_groups = (evaluated.get(attribute) or {}).get("groups")
        if not isinstance(raw_groups, dict) or not raw_groups:
            for check in check_ids((attribute,)):
                checks.append(
                    {
                        "check": check,
                        "attribute": attribute,
                        "metric": check.split("/", 1)[1],
                        "value": None,
                        "bound": None,
                        "floor": None,
                        "rule": "evaluated",
                        "passed": False,
                        "detail": f"the evaluation has no per-group counts for {attribute!r}",
                    }
                )
            continue
        expected = _allowed_groups(attribute) or list(raw_groups)
        counts = {
            g: raw_groups.get(
                g, {"rows": 0, "repaid": 0, "defaulted": 0, "approved_repaid": 0, "approved_defaulted": 0}
            )
            for g in sorted(set(expected) | set(raw_groups))
        }
        sizes[attribute] = {g: int(c["rows"]) for g, c in counts.items()}
        small = {g: n for g, n in sizes[attribute].items() if n < policy.min_group_size}
        judged = {}
        unjudged = []
        for g, c in counts.items():
            if g in small and (attribute, g) in policy.excluded_groups:
                excluded.append(
                    {
                        "attribute": attribute,
                        "group": g,
                        "rows": small[g],
                        "reason": policy.excluded_groups[(attribute, g)],
                    }
                )
            else:
                judged[g] = c
                if g in small:
                    unjudged.append(f"{g!r} ({small[g]} rows)")
        checks.append(
            {
                "check": f"{attribute}/group_size",
                "attribute": attribute,
                "metric": "group_size",
                "value": min((n for g, n in sizes[attribute].items() if g in judged), default=0),
                "bound": None,
                "floor": policy.min_group_size,
                "rule": f">= {policy.min_group_size} rows per group",
                "passed": not unjudged,
                "detail": (
                    f"too few held-out rows to judge: {', '.join(unjudged)}; list the group in "
                    "excluded_groups of the policy or evaluate on more data"
                )
                if unjudged
                else "",
            }
        )
        values = point_metrics(judged)
        bounds = confidence_bounds(judged, policy.confidence_level)
        for metric in METRICS:
            for kind, floor_key, op in (("difference", "max_difference", "<="), ("ratio", "min_ratio", ">=")):
                name = f"{metric}_{kind}"
                value, bound, floor = values[name], bounds[name], floors[metric][floor_key]
                ok = math.isfinite(bound) and (bound <= floor if op == "<=" else bound >= floor)
                side = "upper" if op == "<=" else "lower"
                checks.append(
                    {
                        "check": f"{attribute}/{metric}/{kind}",
                        "attribute": attribute,
                        "metric": name,
                        "value": value,
                        "bound": bound,
                        "floor": floor,
                        "rule": f"{side} {policy.confidence_level:.0%} bound {op} {floor}",
                        "passed": ok,
                        "detail": ""
                        if math.isfinite(bound)
                        else "cannot be computed: a group lacks repaid or defaulted rows",
                    }
                )
    return {"checks": checks, "groups": sizes, "excluded": excluded}

"""The one hyperparameter search space, budget and objective, rendered for both engines (Optuna locally, Katib on
the cluster), so the two can never search different spaces.

Imports nothing heavy: the Optuna trial is passed in, the Katib parameters are plain dicts.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Final

OBJECTIVE_METRIC = "val_loss"
OBJECTIVE_DIRECTION: Final = "minimize"

KINDS = ("log_uniform", "uniform", "int", "categorical")

LIMITS = {
    "learning_rate": ("log_uniform", 1e-6, 1.0),
    "weight_decay": ("log_uniform", 1e-8, 1e-1),
    "dropout": ("uniform", 0.0, 0.9),
    "layers": ("int", 1, 8),
    "hidden": ("categorical", 4, 2048),
}
"""What a user-provided space may search: each hyperparameter with its one allowed kind and the hard bounds of its
values (for ``hidden``: of every choice). Anything else (batch size, epochs, seed) is fixed for the whole search."""

EARLY_STOPPING_ALGORITHMS = ("medianstop", "none")


@dataclass(frozen=True)
class Param:
    """One searched hyperparameter: ``low``/``high`` for ranges, ``choices`` for a set."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    choices: tuple = ()

    def to_dict(self) -> dict:
        if self.kind == "categorical":
            return {"kind": self.kind, "choices": list(self.choices)}
        return {"kind": self.kind, "low": self.low, "high": self.high}

    def bounds(self) -> tuple[float, float]:
        """``(low, high)`` of a range; a categorical (or a range built without them) has none."""
        if self.low is None or self.high is None:
            raise ValueError(f"hyperparameter {self.name!r} ({self.kind}) has no low/high range")
        return self.low, self.high


@dataclass(frozen=True)
class EarlyStopping:
    """Median stopping: after ``start_step`` epochs, stop a trial whose best val_loss is worse than the median of
    the other trials at the same epoch, once ``min_trials_required`` trials have reported it (Optuna's
    MedianPruner locally; Katib's ``medianstop`` on the cluster)."""

    algorithm: str = "medianstop"
    min_trials_required: int = 3
    start_step: int = 2


@dataclass(frozen=True)
class Budget:
    max_trials: int = 12
    parallel_trials: int = 2
    max_failed_trials: int = 3
    early_stopping: EarlyStopping = field(default_factory=EarlyStopping)


@dataclass(frozen=True)
class SearchSpace:
    params: tuple[Param, ...]

    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def to_dict(self) -> dict:
        return {p.name: p.to_dict() for p in self.params}

    def coerce(self, values: dict) -> dict:
        """Typed values from strings or floats (Katib hands every assignment over as a string)."""
        out: dict[str, float] = {}
        for p in self.params:
            if p.name not in values:
                raise ValueError(f"search result lacks hyperparameter {p.name!r}; expected {self.names()}")
            raw = values[p.name]
            if p.kind == "int" or (p.kind == "categorical" and all(isinstance(c, int) for c in p.choices)):
                out[p.name] = int(float(raw))
            else:
                out[p.name] = float(raw)
        return out


SPACE = SearchSpace(
    (
        Param("learning_rate", "log_uniform", 1e-4, 3e-2),
        Param("hidden", "categorical", choices=(32, 64, 128, 256)),
        Param("layers", "int", 1, 4),
        Param("dropout", "uniform", 0.0, 0.4),
        Param("weight_decay", "log_uniform", 1e-6, 1e-2),
    )
)
"""For the credit-risk MLP on ~20 tabular inputs: AdamW learning rates from 1e-4 (slow but stable) to 3e-2 (the edge
of divergence at batch 512), widths 32-256 and 1-4 hidden layers (wider/deeper only overfits tens of thousands of
rows), dropout up to 0.4, decoupled weight decay over four decades."""

BUDGET = Budget()


def parse_space(spec: dict | None) -> SearchSpace:
    """A user-provided space (``{name: {"kind", "low", "high"} | {"kind": "categorical", "choices": [...]}}``),
    checked against :data:`LIMITS`; empty or ``None``: :data:`SPACE`."""
    if not spec:
        return SPACE
    if not isinstance(spec, dict):
        raise ValueError(  # noqa: TRY004 - callers report ValueError as bad input with its message
            f"search space must be a mapping of hyperparameter name to its range, got {type(spec).__name__}"
        )
    params = []
    for name, entry in spec.items():
        where = f"search space: {name}"
        if name not in LIMITS:
            raise ValueError(f"{where}: not a searchable hyperparameter; allowed: {', '.join(LIMITS)}")
        kind, lo_limit, hi_limit = LIMITS[name]
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: must be a mapping with 'kind' and its range, got {entry!r}")  # noqa: TRY004
        if entry.get("kind") != kind:
            raise ValueError(f"{where}.kind: must be {kind!r} for this hyperparameter, got {entry.get('kind')!r}")
        if kind == "categorical":
            extra = set(entry) - {"kind", "choices"}
            choices = entry.get("choices")
            if extra:
                raise ValueError(f"{where}: unknown field(s) {sorted(extra)}; allowed: kind, choices")
            if not isinstance(choices, (list, tuple)) or not choices:
                raise ValueError(f"{where}.choices: must be a non-empty list, got {choices!r}")
            bad = [c for c in choices if isinstance(c, bool) or not isinstance(c, int) or not lo_limit <= c <= hi_limit]
            if bad:
                raise ValueError(f"{where}.choices: {bad} not allowed; whole numbers in [{lo_limit}, {hi_limit}]")
            if len(set(choices)) != len(choices):
                raise ValueError(f"{where}.choices: duplicates in {list(choices)}")
            params.append(Param(name, kind, choices=tuple(choices)))
            continue
        extra = set(entry) - {"kind", "low", "high"}
        if extra:
            raise ValueError(f"{where}: unknown field(s) {sorted(extra)}; allowed: kind, low, high")
        low, high = (_bound(f"{where}.{key}", entry.get(key), kind, lo_limit, hi_limit) for key in ("low", "high"))
        if not low < high:
            raise ValueError(f"{where}: low ({low}) must be below high ({high})")
        params.append(
            Param(name, kind, int(low) if kind == "int" else float(low), int(high) if kind == "int" else float(high))
        )
    return SearchSpace(tuple(params))


def _bound(where: str, value: object, kind: str, lo_limit: float, hi_limit: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{where}: must be a number, got {value!r}")
    if kind == "int" and value != int(value):
        raise ValueError(f"{where}: must be a whole number, got {value!r}")
    if not lo_limit <= value <= hi_limit:
        raise ValueError(f"{where}: {value} outside the allowed [{lo_limit}, {hi_limit}]")
    return value


def parse_budget(
    max_trials: int, parallel_trials: int, max_failed_trials: int | None = None, early_stopping: dict | None = None
) -> Budget:
    """Checked budget; ``early_stopping`` overrides fields of :class:`EarlyStopping`."""

    def whole(name: str, value, low: int, high: int) -> int:
        if isinstance(value, bool) or float(value) != int(float(value)) or not low <= int(float(value)) <= high:
            raise ValueError(f"search budget: {name} must be a whole number in [{low}, {high}], got {value!r}")
        return int(float(value))

    max_trials = whole("max_trials", max_trials, 1, 1000)
    parallel_trials = whole("parallel_trials", parallel_trials, 1, max_trials)
    if max_failed_trials is None:
        max_failed_trials = min(BUDGET.max_failed_trials, max_trials)
    failed = whole("max_failed_trials", max_failed_trials, 0, max_trials)
    stop = dict(early_stopping or {})
    extra = set(stop) - set(asdict(EarlyStopping()))
    if extra:
        raise ValueError(
            f"search budget: early_stopping has unknown field(s) {sorted(extra)}; "
            f"allowed: {', '.join(asdict(EarlyStopping()))}"
        )
    algorithm = stop.get("algorithm", EarlyStopping.algorithm)
    if algorithm not in EARLY_STOPPING_ALGORITHMS:
        raise ValueError(
            f"search budget: early_stopping.algorithm must be one of {EARLY_STOPPING_ALGORITHMS}, got {algorithm!r}"
        )
    es = EarlyStopping(
        algorithm,
        whole(
            "early_stopping.min_trials_required",
            stop.get("min_trials_required", EarlyStopping.min_trials_required),
            1,
            1000,
        ),
        whole("early_stopping.start_step", stop.get("start_step", EarlyStopping.start_step), 1, 1000),
    )
    return Budget(max_trials, parallel_trials, failed, es)


# --- Optuna ---------------------------------------------------------------------------------------------------------
def optuna_params(trial, space: SearchSpace = SPACE) -> dict:
    """Ask an Optuna trial for one point of the space."""
    out = {}
    for p in space.params:
        if p.kind == "categorical":
            out[p.name] = trial.suggest_categorical(p.name, list(p.choices))
        elif p.kind == "int":
            low, high = p.bounds()
            out[p.name] = trial.suggest_int(p.name, int(low), int(high))
        else:
            low, high = p.bounds()
            out[p.name] = trial.suggest_float(p.name, low, high, log=p.kind == "log_uniform")
    return out


# --- Katib ----------------------------------------------------------------------------------------------------------
def trial_parameter_name(name: str) -> str:
    """``learning_rate`` -> ``learningRate``: the name a Katib trial template substitutes (``${trialParameters.X}``)."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def katib_parameters(space: SearchSpace = SPACE) -> list[dict]:
    """``spec.parameters`` of a Katib Experiment (v1beta1; ``feasibleSpace.distribution`` from Katib 0.18)."""
    out = []
    for p in space.params:
        if p.kind == "categorical":
            out.append(
                {"name": p.name, "parameterType": "discrete", "feasibleSpace": {"list": [str(c) for c in p.choices]}}
            )
        elif p.kind == "int":
            low, high = p.bounds()
            out.append(
                {"name": p.name, "parameterType": "int", "feasibleSpace": {"min": str(int(low)), "max": str(int(high))}}
            )
        else:
            low, high = p.bounds()
            out.append(
                {
                    "name": p.name,
                    "parameterType": "double",
                    "feasibleSpace": {
                        "min": repr(float(low)),
                        "max": repr(float(high)),
                        "distribution": "logUniform" if p.kind == "log_uniform" else "uniform",
                    },
                }
            )
    return out

"""The one search space: validated user input with errors that name the field, and identical renderings for Optuna
and Katib."""

import math

import pytest

from pipelines.ml.search_space import (
    BUDGET,
    LIMITS,
    SPACE,
    katib_parameters,
    optuna_params,
    parse_budget,
    parse_space,
    trial_parameter_name,
)


def test_default_space_searches_the_five_hyperparameters_within_their_limits():
    assert SPACE.names() == ["learning_rate", "hidden", "layers", "dropout", "weight_decay"]
    for p in SPACE.params:
        kind, low, high = LIMITS[p.name]
        assert p.kind == kind
        values = p.choices if p.kind == "categorical" else (p.low, p.high)
        assert all(low <= v <= high for v in values)
    assert parse_space({}) is SPACE and parse_space(None) is SPACE
    assert parse_space(SPACE.to_dict()) == SPACE


def test_optuna_samples_every_parameter_inside_its_range_with_its_type():
    import optuna

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(30):
        point = optuna_params(study.ask())
        assert 1e-4 <= point["learning_rate"] <= 3e-2 and 1e-6 <= point["weight_decay"] <= 1e-2
        assert point["hidden"] in (32, 64, 128, 256) and isinstance(point["layers"], int) and 1 <= point["layers"] <= 4
        assert 0.0 <= point["dropout"] <= 0.4
    dists = study.trials[0].distributions
    assert dists["learning_rate"].log and not dists["dropout"].log


def test_katib_parameters_render_the_same_space():
    rendered = {p["name"]: p for p in katib_parameters()}
    assert list(rendered) == SPACE.names()
    assert rendered["learning_rate"] == {
        "name": "learning_rate",
        "parameterType": "double",
        "feasibleSpace": {"min": "0.0001", "max": "0.03", "distribution": "logUniform"},
    }
    assert rendered["dropout"]["feasibleSpace"]["distribution"] == "uniform"
    assert rendered["hidden"] == {
        "name": "hidden",
        "parameterType": "discrete",
        "feasibleSpace": {"list": ["32", "64", "128", "256"]},
    }
    assert rendered["layers"] == {"name": "layers", "parameterType": "int", "feasibleSpace": {"min": "1", "max": "4"}}
    for p in SPACE.params:  # every string Katib hands back parses to the value the space means
        fs = rendered[p.name]["feasibleSpace"]
        for raw in fs.get("list", []) or [fs["min"], fs["max"]]:
            value = SPACE.coerce({q.name: raw for q in SPACE.params})[p.name]
            assert math.isfinite(value)
    assert trial_parameter_name("learning_rate") == "learningRate" and trial_parameter_name("hidden") == "hidden"


@pytest.mark.parametrize(
    "spec, message",
    [
        (
            {"batch_size": {"kind": "int", "low": 64, "high": 512}},
            "batch_size: not a searchable hyperparameter; allowed",
        ),
        (
            {"learning_rate": {"kind": "uniform", "low": 1e-4, "high": 1e-2}},
            "learning_rate.kind: must be 'log_uniform'",
        ),
        (
            {"learning_rate": {"kind": "log_uniform", "low": 1e-4, "high": 5.0}},
            r"learning_rate.high: 5.0 outside the allowed \[1e-06, 1.0\]",
        ),
        ({"dropout": {"kind": "uniform", "low": 0.3, "high": 0.1}}, r"dropout: low \(0.3\) must be below high \(0.1\)"),
        ({"dropout": {"kind": "uniform", "low": "0", "high": 0.1}}, "dropout.low: must be a number"),
        ({"layers": {"kind": "int", "low": 1, "high": 2.5}}, "layers.high: must be a whole number"),
        ({"layers": {"kind": "int", "low": 1, "high": 3, "step": 1}}, r"layers: unknown field\(s\) \['step'\]"),
        ({"hidden": {"kind": "categorical", "choices": [64, 4096]}}, r"hidden.choices: \[4096\] not allowed"),
        ({"hidden": {"kind": "categorical", "choices": []}}, "hidden.choices: must be a non-empty list"),
        ({"hidden": {"kind": "categorical", "choices": [64, 64]}}, "hidden.choices: duplicates"),
        ({"hidden": [32, 64]}, "hidden: must be a mapping"),
    ],
)
def test_a_bad_user_space_is_refused_naming_the_field_and_what_is_allowed(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_space(spec)


def test_a_partial_user_space_searches_only_what_it_names():
    space = parse_space(
        {
            "learning_rate": {"kind": "log_uniform", "low": 1e-3, "high": 1e-2},
            "hidden": {"kind": "categorical", "choices": [16, 32]},
        }
    )
    assert space.names() == ["learning_rate", "hidden"]
    assert [p["name"] for p in katib_parameters(space)] == ["learning_rate", "hidden"]


@pytest.mark.parametrize(
    "args, message",
    [
        ((0, 1), r"max_trials must be a whole number in \[1, 1000\], got 0"),
        ((4, 5), r"parallel_trials must be a whole number in \[1, 4\], got 5"),
        ((4, 2, 9), r"max_failed_trials must be a whole number in \[0, 4\], got 9"),
        ((4, 2, 1, {"algorithm": "hyperband"}), r"early_stopping.algorithm must be one of \('medianstop', 'none'\)"),
        ((4, 2, 1, {"patience": 3}), r"early_stopping has unknown field\(s\) \['patience'\]"),
        ((4, 2, 1, {"start_step": 0}), r"early_stopping.start_step must be a whole number in \[1, 1000\]"),
        ((2.5, 1), "max_trials must be a whole number"),
    ],
)
def test_a_bad_budget_is_refused_naming_the_field(args, message):
    with pytest.raises(ValueError, match=message):
        parse_budget(*args)


def test_budget_defaults_and_float_counts_from_pipelines():
    assert parse_budget(BUDGET.max_trials, BUDGET.parallel_trials) == BUDGET
    budget = parse_budget(8.0, 4.0, 0, {"algorithm": "none"})
    assert (budget.max_trials, budget.parallel_trials, budget.max_failed_trials) == (8, 4, 0)
    assert budget.early_stopping.algorithm == "none"

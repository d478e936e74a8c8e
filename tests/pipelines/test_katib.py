"""Katib engine: the Experiment built from the one search space, checked against Katib's v1beta1 schema and its
validating webhook's rules, trial pods placed on GPU nodes through Kueue, the trial worker's metric lines parsed as
Katib's StdOut collector parses them, and create/await/read against a fake of the Kubernetes API (no cluster here)."""

import json
import re
from pathlib import Path

import pytest

from components.gpu import GPU_NODE_SELECTOR, GPU_RESOURCE, GPU_TOLERATION, QUEUE_NAME_LABEL, TRAINING_QUEUE
from pipelines.ml.search_space import SPACE, parse_budget, parse_space
from pipelines.steps import katib
from tests.pipelines.test_search import RESULT_KEYS, TRIAL_KEYS  # the study record is the same for both engines

SCHEMA = json.loads((Path(__file__).parent / "data" / "katib_v1beta1_experiment.json").read_text())
KATIB_STDOUT_FILTER = r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)"
"""The default metrics filter of Katib's StdOut/File collector (pkg/metricscollector/v1beta1/common)."""


def _placeholder(name: str) -> str:
    """How Katib spells a trial parameter in the trial spec: ``${trialParameters.<name>}``."""
    return "${trialParameters." + name + "}"


def _schema_errors(value, ref: str, path: str = "") -> list[str]:
    """Unknown fields and wrong types, against the vendored definitions (Go's decoder drops unknown fields silently,
    so a misspelt field would be lost on the cluster without an error)."""
    schema = SCHEMA["definitions"][ref] if isinstance(ref, str) else ref
    if "$ref" in schema:
        return _schema_errors(value, schema["$ref"], path)
    kind = schema.get("type")
    expected = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float), "boolean": bool}
    if kind and (not isinstance(value, expected[kind]) or (kind == "integer" and isinstance(value, bool))):
        return [f"{path or '.'}: expected {kind}, got {type(value).__name__}"]
    errors = []
    if kind == "array":
        for i, item in enumerate(value):
            errors += _schema_errors(item, schema["items"], f"{path}[{i}]")
    elif kind == "object" and ("properties" in schema or "additionalProperties" in schema):
        props = schema.get("properties", {})
        errors += [f"{path}: missing required {r}" for r in schema.get("required", []) if r not in value]
        for key, item in value.items():
            sub = props.get(key, schema.get("additionalProperties"))
            errors += [f"{path}.{key}: unknown field"] if sub is None else _schema_errors(item, sub, f"{path}.{key}")
    return errors


def _k8s_errors(value, type_name: str, path: str = "") -> list[str]:
    """Fields of a Kubernetes object that its model (kubernetes client, the API's own types) does not have."""
    import kubernetes.client as k8s

    if type_name.startswith("list["):
        return [e for i, v in enumerate(value) for e in _k8s_errors(v, type_name[5:-1], f"{path}[{i}]")]
    if type_name.startswith("dict("):
        inner = type_name[5:-1].split(", ", 1)[1]
        return [e for k, v in value.items() for e in _k8s_errors(v, inner, f"{path}.{k}")]
    model = getattr(k8s, type_name, None)
    if model is None:
        return []
    by_json = {j: p for p, j in model.attribute_map.items()}
    errors = []
    for key, item in value.items():
        if key not in by_json:
            errors.append(f"{path}.{key}: not a field of {type_name}")
        else:
            errors += _k8s_errors(item, model.openapi_types[by_json[key]], f"{path}.{key}")
    return errors


def _webhook_errors(exp: dict) -> list[str]:
    """The rules of Katib's experiment validating webhook that apply to a parameters + Job template Experiment."""
    spec, enums, errors = exp["spec"], SCHEMA["enums"], []
    if not re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", exp["metadata"]["name"]):
        errors.append("metadata.name: not a DNS label")
    if (
        not 0 < spec["maxTrialCount"]
        or spec["maxFailedTrialCount"] > spec["maxTrialCount"]
        or spec["parallelTrialCount"] > spec["maxTrialCount"]
        or spec["maxFailedTrialCount"] < 0
    ):
        errors.append("trial counts out of order")
    if spec["objective"]["type"] not in enums["objectiveType"] or not spec["objective"]["objectiveMetricName"]:
        errors.append("objective")
    if spec.get("resumePolicy", "") not in enums["resumePolicy"]:
        errors.append("resumePolicy")
    if spec["metricsCollectorSpec"]["collector"]["kind"] not in enums["collectorKind"]:
        errors.append("collector kind")
    for i, p in enumerate(spec["parameters"]):
        fs = p["feasibleSpace"]
        if p["parameterType"] not in enums["parameterType"]:
            errors.append(f"parameters[{i}].parameterType")
        if fs.get("distribution", "uniform") not in enums["distribution"]:
            errors.append(f"parameters[{i}].feasibleSpace.distribution")
        if p["parameterType"] in ("double", "int") and (fs.get("list") or not (fs.get("min") or fs.get("max"))):
            errors.append(f"parameters[{i}]: min/max without list")
        if p["parameterType"] in ("discrete", "categorical") and (
            set(fs) & {"min", "max", "step"} or not fs.get("list")
        ):
            errors.append(f"parameters[{i}]: list only")
    template = spec["trialTemplate"]
    if (
        not template.get("primaryContainerName")
        or not template.get("successCondition")
        or not template.get("failureCondition")
    ):
        errors.append("trialTemplate: primaryContainerName, successCondition and failureCondition are required")
    text = json.dumps(template["trialSpec"])
    names = {p["name"] for p in spec["parameters"]}
    for tp in template["trialParameters"]:
        if tp["reference"] not in names:
            errors.append(f"trialParameters {tp['name']}: reference {tp['reference']} not in spec.parameters")
        placeholder = _placeholder(tp["name"])
        if placeholder not in text:
            errors.append(f"trialParameters {tp['name']}: not used in trialSpec")
        text = text.replace(placeholder, "test-value")
    if re.search(r"\$\{trialParameters\..+?\}", text):
        errors.append("trialSpec uses a parameter that trialParameters lacks")
    job = template["trialSpec"]
    if job.get("metadata", {}).get("name") or job.get("metadata", {}).get("namespace"):
        errors.append("trialSpec: metadata.name and namespace must be omitted")
    if (job["apiVersion"], job["kind"]) == ("batch/v1", "Job"):
        errors += _k8s_errors({k: v for k, v in job.items() if k not in ("apiVersion", "kind")}, "V1Job", "trialSpec")
    containers = [c["name"] for c in job["spec"]["template"]["spec"]["containers"]]
    if template["primaryContainerName"] not in containers:
        errors.append("primaryContainerName is not a container of the trial pod")
    return errors


def _experiment(**kw):
    args = {
        "name": "hpo-test",
        "namespace": "kubeflow",
        "dataset_uri": "s3://mlpipeline/v2/artifacts/x/dataset",
        "training_image": "registry.local/mlops/trainer:1.4.2",
        "budget": parse_budget(12, 3, 2),
        "max_epochs": 15,
        "seed": 7,
    }
    return katib.katib_experiment(**{**args, **kw})


def test_the_experiment_matches_katibs_schema_and_passes_its_webhook_rules():
    exp = _experiment()
    assert exp["apiVersion"] == "kubeflow.org/v1beta1" and exp["kind"] == "Experiment"
    assert _schema_errors(exp, "v1beta1.Experiment") == []
    assert _webhook_errors(exp) == []
    spec = exp["spec"]
    assert spec["objective"] == {
        "type": "minimize",
        "objectiveMetricName": "val_loss",
        "metricStrategies": [{"name": "val_loss", "value": "min"}],
    }
    assert spec["algorithm"] == {"algorithmName": "tpe", "algorithmSettings": [{"name": "random_state", "value": "7"}]}
    assert spec["earlyStopping"] == {
        "algorithmName": "medianstop",
        "algorithmSettings": [{"name": "min_trials_required", "value": "3"}, {"name": "start_step", "value": "2"}],
    }
    assert (spec["maxTrialCount"], spec["parallelTrialCount"], spec["maxFailedTrialCount"]) == (12, 3, 2)
    assert spec["metricsCollectorSpec"] == {"collector": {"kind": "StdOut"}}
    assert [p["name"] for p in spec["parameters"]] == SPACE.names()


def test_the_checks_catch_what_katib_would_reject_or_silently_drop():
    """The schema and webhook checks above are able to fail."""
    exp = _experiment()
    exp["spec"]["maxTrialCounts"] = 3
    exp["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]["gpus"] = 1
    exp["spec"]["trialTemplate"]["trialParameters"].pop()
    exp["spec"]["parameters"][0]["feasibleSpace"]["distribution"] = "loguniform"
    assert _schema_errors(exp, "v1beta1.Experiment") == [".spec.maxTrialCounts: unknown field"]
    errors = _webhook_errors(exp)
    assert "parameters[0].feasibleSpace.distribution" in errors
    assert "trialSpec uses a parameter that trialParameters lacks" in errors
    assert any("gpus: not a field of V1Container" in e for e in errors)


def test_trials_run_on_one_gpu_of_the_gpu_pools_admitted_by_kueue():
    job = _experiment()["spec"]["trialTemplate"]["trialSpec"]
    pod = job["spec"]["template"]
    assert job["metadata"]["labels"][QUEUE_NAME_LABEL] == TRAINING_QUEUE
    assert pod["metadata"]["labels"][QUEUE_NAME_LABEL] == TRAINING_QUEUE
    assert pod["spec"]["nodeSelector"] == GPU_NODE_SELECTOR and pod["spec"]["tolerations"] == [GPU_TOLERATION]
    (container,) = pod["spec"]["containers"]
    resources = container["resources"]
    assert resources["limits"][GPU_RESOURCE] == "1" and resources["requests"][GPU_RESOURCE] == "1"
    assert container["image"] == "registry.local/mlops/trainer:1.4.2"
    assert pod["spec"]["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] == 0


def test_the_trial_command_carries_the_suggested_values_to_the_worker():
    """Substitute values as Katib does; the worker parses them back to the same point, with the fixed settings."""
    from pipelines.ml.trial_worker import parse_args

    exp = _experiment()
    values = {"learning_rate": "0.0031", "hidden": "128", "layers": "3", "dropout": "0.25", "weight_decay": "1e-05"}
    (container,) = exp["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"]
    command = json.dumps(container["command"])
    for tp in exp["spec"]["trialTemplate"]["trialParameters"]:
        command = command.replace(_placeholder(tp["name"]), values[tp["reference"]])
    argv = json.loads(command)
    assert argv[:3] == ["python", "-m", "pipelines.ml.trial_worker"]
    args = parse_args(argv[3:])
    assert {k: getattr(args, k) for k in values} == SPACE.coerce(values)
    assert (args.dataset, args.max_epochs, args.seed) == ("s3://mlpipeline/v2/artifacts/x/dataset", 15, 7)


def test_a_user_space_and_no_early_stopping_render_too():
    exp = _experiment(
        space=parse_space({"dropout": {"kind": "uniform", "low": 0.0, "high": 0.2}}),
        budget=parse_budget(4, 2, 0, {"algorithm": "none"}),
    )
    assert "earlyStopping" not in exp["spec"] and [p["name"] for p in exp["spec"]["parameters"]] == ["dropout"]
    assert _webhook_errors(exp) == [] and _schema_errors(exp, "v1beta1.Experiment") == []
    with pytest.raises(ValueError, match="training_image is required"):
        _experiment(training_image="")


def test_experiment_names_are_stable_dns_labels_and_minio_uris_read_as_s3():
    fixed = {"max_epochs": 20, "patience": 3, "batch_size": 512, "seed": 42}
    budget = parse_budget(12, 2)
    a = katib.experiment_name("s3://b/d", SPACE, budget, fixed, "img:1")
    assert a == katib.experiment_name("s3://b/d", SPACE, budget, fixed, "img:1")
    assert a != katib.experiment_name("s3://b/e", SPACE, budget, fixed, "img:1")
    assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", a) and len(a) <= 40
    assert katib.trial_dataset_uri("minio://mlpipeline/v2/x") == "s3://mlpipeline/v2/x"
    assert katib.trial_dataset_uri("s3://bucket/x") == "s3://bucket/x"


def test_the_trial_worker_prints_lines_katibs_stdout_collector_parses(training_data, capsys):
    from pipelines.ml.trial_worker import main

    assert (
        main(
            [
                f"--dataset={training_data['dataset']}",
                "--learning_rate=0.01",
                "--hidden=16",
                "--layers=1",
                "--dropout=0.1",
                "--weight_decay=0.0001",
                "--max_epochs=2",
                "--device=cpu",
            ]
        )
        == 0
    )
    lines = [line for line in capsys.readouterr().out.splitlines() if re.search(KATIB_STDOUT_FILTER, line)]
    assert len(lines) == 2
    for line in lines:
        stamp, rest = line.split(" ", 1)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp)  # RFC 3339: early stopping orders by it
        (match,) = re.findall(KATIB_STDOUT_FILTER, rest)
        assert match[0] == "val_loss" and 0 < float(match[1]) < 2


# --- create / await / read against a fake Kubernetes API ----------------------------------------------------------
class FakeCustomObjects:
    """CustomObjectsApi's four calls, over dicts; ``progress`` is the Experiment's status per poll."""

    def __init__(self, progress, trials, exists=False):
        self.progress, self.trials, self.polls, self.created = list(progress), trials, 0, []
        self.exists = exists
        self.listed = None

    def create_namespaced_custom_object(self, group, version, namespace, plural, body):
        from kubernetes.client.exceptions import ApiException

        assert (group, version, plural) == ("kubeflow.org", "v1beta1", "experiments")
        if self.exists:
            raise ApiException(status=409, reason="AlreadyExists")
        self.created.append(body)
        self.experiment = body
        return body

    def get_namespaced_custom_object(self, group, version, namespace, plural, name):
        status = self.progress[min(self.polls, len(self.progress) - 1)]
        self.polls += 1
        return {
            "apiVersion": "kubeflow.org/v1beta1",
            "kind": "Experiment",
            "metadata": {"name": name, "namespace": namespace},
            "status": status,
        }

    def list_namespaced_custom_object(self, group, version, namespace, plural, label_selector=""):
        self.listed = (plural, label_selector)
        return {"items": self.trials}


def _cond(kind, reason="", message=""):
    return {"type": kind, "status": "True", "reason": reason, "message": message}


def _trial(name, created, state, values, minimum=None):
    status = {
        "conditions": [_cond("Created"), _cond(state)],
        "startTime": "2026-01-01T10:00:00Z",
        "completionTime": "2026-01-01T10:02:30Z",
    }
    if minimum is not None:
        status["observation"] = {
            "metrics": [{"name": "val_loss", "min": str(minimum), "max": "0.9", "latest": str(minimum + 0.01)}]
        }
    return {
        "metadata": {"name": name, "creationTimestamp": created},
        "spec": {"parameterAssignments": [{"name": k, "value": v} for k, v in values.items()]},
        "status": status,
    }


POINT = {"learning_rate": "0.003", "hidden": "64", "layers": "2", "dropout": "0.1", "weight_decay": "0.0001"}
OTHER = {**POINT, "learning_rate": "0.0002", "hidden": "256"}
RUNNING = {"conditions": [_cond("Created"), _cond("Running")], "trialsRunning": 2}
SUCCEEDED = {
    "conditions": [_cond("Created"), _cond("Succeeded", "ExperimentMaxTrialsReached")],
    "trialsSucceeded": 2,
    "currentOptimalTrial": {
        "bestTrialName": "hpo-a",
        "parameterAssignments": [{"name": k, "value": v} for k, v in POINT.items()],
        "observation": {"metrics": [{"name": "val_loss", "min": "0.41", "max": "0.7", "latest": "0.42"}]},
    },
}
TRIALS = [
    _trial("hpo-b", "2026-01-01T10:01:00Z", "EarlyStopped", OTHER, 0.62),
    _trial("hpo-a", "2026-01-01T10:00:00Z", "Succeeded", POINT, 0.41),
    _trial("hpo-c", "2026-01-01T10:03:00Z", "Failed", OTHER),
]


def test_search_katib_creates_waits_and_returns_the_local_engines_result_shape(tmp_path):
    api = FakeCustomObjects([RUNNING, RUNNING, SUCCEEDED], TRIALS)
    sleeps, lines = [], []
    result = katib.search_katib(
        "s3://b/dataset",
        "img:1",
        "team-ml",
        budget=parse_budget(3, 2, 1),
        max_epochs=5,
        api=api,
        echo=lines.append,
        sleep=sleeps.append,
        out_dir=str(tmp_path),
        poll_s=10,
    )
    (created,) = api.created
    assert created["metadata"]["namespace"] == "team-ml" and sleeps == [10, 10]
    assert api.listed == ("trials", f"katib.kubeflow.org/experiment={created['metadata']['name']}")
    assert set(result) == RESULT_KEYS | {"experiment"} and all(set(t) == TRIAL_KEYS for t in result["trials"])
    assert result["engine"] == "katib" and result["best_trial"] == "hpo-a" and result["best_value"] == 0.41
    assert result["best_params"] == {
        "learning_rate": 0.003,
        "hidden": 64,
        "layers": 2,
        "dropout": 0.1,
        "weight_decay": 0.0001,
    }
    assert [(t["number"], t["name"], t["state"], t["value"]) for t in result["trials"]] == [
        (0, "hpo-a", "COMPLETE", 0.41),
        (1, "hpo-b", "PRUNED", 0.62),
        (2, "hpo-c", "FAIL", None),
    ]
    assert (result["n_trials"], result["n_complete"], result["n_pruned"], result["n_failed"]) == (3, 1, 1, 1)
    assert result["trials"][0]["duration_s"] == 150.0
    assert json.loads((tmp_path / "study.json").read_text()) == json.loads(json.dumps(result))


def test_a_retried_step_attaches_to_the_existing_experiment():
    api = FakeCustomObjects([SUCCEEDED], TRIALS[:2], exists=True)
    lines = []
    result = katib.search_katib("s3://b/dataset", "img:1", api=api, echo=lines.append, sleep=lambda s: None)
    assert api.created == [] and any("already exists" in line for line in lines)
    assert result["resumed_trials"] == 2 and result["best_trial"] == "hpo-a"


def test_a_failed_experiment_raises_with_katibs_reason():
    failed = {"conditions": [_cond("Failed", "ExperimentMaxFailedTrialsReached", "3 trials failed")]}
    api = FakeCustomObjects([RUNNING, failed], [])
    with pytest.raises(RuntimeError, match="failed: ExperimentMaxFailedTrialsReached: 3 trials failed"):
        katib.search_katib("s3://b/d", "img:1", api=api, echo=lambda s: None, sleep=lambda s: None)


def test_waiting_times_out_naming_the_experiment_and_leaving_it_running():
    now = [0.0]
    api = FakeCustomObjects([RUNNING], [])

    def sleep(seconds):
        now[0] += seconds

    with pytest.raises(TimeoutError, match=r"kubeflow/hpo-x not finished after 100s .*a retry attaches"):
        katib.await_experiment(
            api, "hpo-x", "kubeflow", timeout_s=100, poll_s=30, echo=lambda s: None, sleep=sleep, clock=lambda: now[0]
        )
    assert api.polls == 5  # at 0, 30, 60, 90, 120 s


def test_a_finished_experiment_without_an_optimal_trial_is_an_error():
    with pytest.raises(RuntimeError, match="without an optimal trial"):
        katib.experiment_result(
            {"metadata": {"name": "hpo-x", "namespace": "k"}, "status": {}}, [], SPACE, parse_budget(2, 1), {}
        )

"""Cluster hyperparameter search engine: a Katib Experiment (kubeflow.org/v1beta1) over the same search space as the
local Optuna engine, with the same budget, early stopping and objective, returning the same result shape.

Each trial is a batch/v1 Job whose pod runs :mod:`pipelines.ml.trial_worker` from ``training_image`` on one GPU of
the GPU pools (node selector, toleration and resource from :mod:`components.gpu`), labelled with the Kueue queue so
trials are admitted (and queued) like every other training job. Katib's StdOut collector reads the ``val_loss=``
lines the worker prints; ``medianstop`` stops trials on them.

The Experiment's name is derived from its inputs, so a retried pipeline step finds the Experiment it created before
and waits for it instead of starting the search again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from components.gpu import GPU_NODE_SELECTOR, GPU_RESOURCE, GPU_TOLERATION, QUEUE_NAME_LABEL, TRAINING_QUEUE
from pipelines.ml.search_space import (
    BUDGET,
    OBJECTIVE_DIRECTION,
    OBJECTIVE_METRIC,
    SPACE,
    Budget,
    SearchSpace,
    katib_parameters,
    trial_parameter_name,
)
from pipelines.steps import progress

STUDY_FILE = "study.json"
GROUP, VERSION = "kubeflow.org", "v1beta1"
EXPERIMENTS, TRIALS = "experiments", "trials"
EXPERIMENT_LABEL = "katib.kubeflow.org/experiment"
"""Label Katib puts on every Trial of an Experiment."""
PRIMARY_CONTAINER = "trial"
ALGORITHM = "tpe"
"""Katib's Optuna-backed TPE suggestion: the same sampler as the local engine."""

JOB_SUCCEEDED = 'status.conditions.#(type=="Complete")#|#(status=="True")#'
JOB_FAILED = 'status.conditions.#(type=="Failed")#|#(status=="True")#'

TRIAL_STATES = {
    "Succeeded": "COMPLETE",
    "EarlyStopped": "PRUNED",
    "Failed": "FAIL",
    "MetricsUnavailable": "FAIL",
    "Killed": "FAIL",
    "Running": "RUNNING",
    "Created": "WAITING",
}
"""Katib trial conditions -> the Optuna state names the result shape uses."""


def trial_dataset_uri(uri: str) -> str:
    """The dataset artifact's URI as trial pods read it with fsspec: KFP's ``minio://`` store is S3-compatible."""
    return "s3://" + uri[len("minio://") :] if uri.startswith("minio://") else uri


def experiment_name(dataset_uri: str, space: SearchSpace, budget: Budget, fixed: dict, training_image: str) -> str:
    """Stable for the same inputs (a retried step reattaches); a DNS label as Katib requires."""
    key = json.dumps([dataset_uri, space.to_dict(), asdict(budget), fixed, training_image], sort_keys=True)
    return "hpo-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def trial_job(dataset_uri: str, training_image: str, space: SearchSpace, fixed: dict, device: str = "auto") -> dict:
    """The trial template: one Job, one pod, one GPU, queued through Kueue; ``${trialParameters.*}`` in its command."""
    command = [
        "python",
        "-m",
        "pipelines.ml.trial_worker",
        f"--dataset={dataset_uri}",
        *(f"--{p.name}=${{trialParameters.{trial_parameter_name(p.name)}}}" for p in space.params),
        *(f"--{k}={v}" for k, v in fixed.items()),
        f"--device={device}",
    ]
    queue = {QUEUE_NAME_LABEL: TRAINING_QUEUE}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"labels": dict(queue)},
        "spec": {
            "backoffLimit": 0,  # a failed trial is Katib's to count (maxFailedTrialCount), not retried by the Job
            "template": {
                "metadata": {"labels": dict(queue), "annotations": {"sidecar.istio.io/inject": "false"}},
                "spec": {
                    "restartPolicy": "Never",
                    "nodeSelector": dict(GPU_NODE_SELECTOR),
                    "tolerations": [dict(GPU_TOLERATION)],
                    "containers": [
                        {
                            "name": PRIMARY_CONTAINER,
                            "image": training_image,
                            "command": command,
                            "resources": {
                                "requests": {"cpu": "2", "memory": "8Gi", GPU_RESOURCE: "1"},
                                "limits": {"memory": "16Gi", GPU_RESOURCE: "1"},
                            },
                        }
                    ],
                },
            },
        },
    }


def katib_experiment(
    name: str,
    namespace: str,
    dataset_uri: str,
    training_image: str,
    space: SearchSpace = SPACE,
    budget: Budget = BUDGET,
    max_epochs: int = 20,
    seed: int = 42,
    patience: int = 3,
    batch_size: int = 512,
    device: str = "auto",
) -> dict:
    """The Experiment custom resource for the search."""
    if not training_image:
        raise ValueError(
            "training_image is required for the Katib engine: an image holding this project's "
            "pipelines package and its dependencies (torch, pandas, pyarrow, fsspec)"
        )
    fixed = {"max_epochs": int(max_epochs), "patience": int(patience), "batch_size": int(batch_size), "seed": int(seed)}
    es = budget.early_stopping
    spec = {
        "objective": {
            "type": OBJECTIVE_DIRECTION,
            "objectiveMetricName": OBJECTIVE_METRIC,
            "metricStrategies": [{"name": OBJECTIVE_METRIC, "value": "min"}],
        },
        "algorithm": {"algorithmName": ALGORITHM, "algorithmSettings": [{"name": "random_state", "value": str(seed)}]},
        "parallelTrialCount": budget.parallel_trials,
        "maxTrialCount": budget.max_trials,
        "maxFailedTrialCount": budget.max_failed_trials,
        "resumePolicy": "Never",
        "parameters": katib_parameters(space),
        "metricsCollectorSpec": {"collector": {"kind": "StdOut"}},
        "trialTemplate": {
            "primaryContainerName": PRIMARY_CONTAINER,
            "successCondition": JOB_SUCCEEDED,
            "failureCondition": JOB_FAILED,
            "trialParameters": [
                {"name": trial_parameter_name(p.name), "reference": p.name, "description": f"{p.name} ({p.kind})"}
                for p in space.params
            ],
            "trialSpec": trial_job(dataset_uri, training_image, space, fixed, device),
        },
    }
    if es.algorithm != "none":
        spec["earlyStopping"] = {
            "algorithmName": es.algorithm,
            "algorithmSettings": [
                {"name": "min_trials_required", "value": str(es.min_trials_required)},
                {"name": "start_step", "value": str(es.start_step)},
            ],
        }
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Experiment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/part-of": "mlops"}},
        "spec": spec,
    }


def _condition(obj: dict, kind: str) -> dict | None:
    for cond in obj.get("status", {}).get("conditions", []) or []:
        if cond.get("type") == kind and cond.get("status") == "True":
            return cond
    return None


def create_or_attach(api, experiment: dict, echo: Callable[[str], None] = print) -> dict:
    """Create the Experiment; when it already exists (a retried step), attach to it."""
    from kubernetes.client.exceptions import ApiException

    meta = experiment["metadata"]
    try:
        created = api.create_namespaced_custom_object(GROUP, VERSION, meta["namespace"], EXPERIMENTS, experiment)
        echo(f"created Katib Experiment {meta['namespace']}/{meta['name']}")
        return created
    except ApiException as exc:
        if exc.status != 409:
            raise RuntimeError(
                f"creating Katib Experiment {meta['namespace']}/{meta['name']} failed: "
                f"{exc.status} {exc.reason}: {exc.body}"
            ) from exc
    echo(f"Katib Experiment {meta['namespace']}/{meta['name']} already exists: waiting for it")
    return api.get_namespaced_custom_object(GROUP, VERSION, meta["namespace"], EXPERIMENTS, meta["name"])


def await_experiment(
    api,
    name: str,
    namespace: str,
    timeout_s: float,
    poll_s: float = 30.0,
    echo: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict:
    """Poll until the Experiment is Succeeded (returned) or Failed (raises); raises TimeoutError after
    ``timeout_s``, leaving the Experiment running (a retried step attaches to it)."""
    deadline = clock() + timeout_s
    last = None
    while True:
        exp = api.get_namespaced_custom_object(GROUP, VERSION, namespace, EXPERIMENTS, name)
        if _condition(exp, "Succeeded"):
            return exp
        failed = _condition(exp, "Failed")
        if failed:
            raise RuntimeError(
                f"Katib Experiment {namespace}/{name} failed: {failed.get('reason')}: {failed.get('message')}"
            )
        status = exp.get("status", {})
        progress = (status.get("trialsSucceeded", 0), status.get("trialsRunning", 0), status.get("trialsFailed", 0))
        if progress != last:
            echo(f"Katib {name}: {progress[0]} succeeded, {progress[1]} running, {progress[2]} failed")
            last = progress
        if clock() >= deadline:
            conds = [(c.get("type"), c.get("status"), c.get("reason")) for c in status.get("conditions", []) or []]
            raise TimeoutError(
                f"Katib Experiment {namespace}/{name} not finished after {timeout_s:.0f}s "
                f"(conditions {conds}); it keeps running, a retry attaches to it"
            )
        sleep(poll_s)


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _trial_state(trial: dict) -> str:
    for kind in ("Succeeded", "EarlyStopped", "Failed", "MetricsUnavailable", "Killed", "Running", "Created"):
        if _condition(trial, kind):
            return TRIAL_STATES[kind]
    return "WAITING"


def _objective(observation: dict | None) -> float | None:
    for metric in (observation or {}).get("metrics", []) or []:
        if metric.get("name") == OBJECTIVE_METRIC and metric.get("min") not in (None, "", "unavailable"):
            return float(metric["min"])
    return None


def experiment_result(experiment: dict, trials: list[dict], space: SearchSpace, budget: Budget, fixed: dict) -> dict:
    """The same result shape as the Optuna engine, from the finished Experiment and its Trials."""
    optimal = experiment.get("status", {}).get("currentOptimalTrial") or {}
    if not optimal.get("bestTrialName"):
        raise RuntimeError(f"Katib Experiment {experiment['metadata']['name']} finished without an optimal trial")
    ordered = sorted(trials, key=lambda t: (t["metadata"].get("creationTimestamp", ""), t["metadata"]["name"]))
    rows = []
    for number, trial in enumerate(ordered):
        status = trial.get("status", {})
        started, completed = _time(status.get("startTime")), _time(status.get("completionTime"))
        assigned = {a["name"]: a["value"] for a in trial.get("spec", {}).get("parameterAssignments", [])}
        rows.append(
            {
                "number": number,
                "name": trial["metadata"]["name"],
                "params": space.coerce(assigned),
                "state": _trial_state(trial),
                "value": _objective(status.get("observation")),
                "intermediate_values": [],  # per-epoch values stay in Katib's DB; the Trial holds min/max/latest
                "duration_s": (completed - started).total_seconds() if started and completed else None,
            }
        )
    counted = [r for r in rows if r["state"] in ("COMPLETE", "PRUNED", "FAIL")]
    best_value = _objective(optimal.get("observation"))
    if best_value is None:
        raise RuntimeError(
            f"Katib Experiment {experiment['metadata']['name']}: the optimal trial "
            f"{optimal['bestTrialName']} has no {OBJECTIVE_METRIC} observation"
        )
    return {
        "engine": "katib",
        "objective": {"metric": OBJECTIVE_METRIC, "direction": OBJECTIVE_DIRECTION},
        "best_params": space.coerce({a["name"]: a["value"] for a in optimal.get("parameterAssignments", [])}),
        "best_value": best_value,
        "best_trial": optimal["bestTrialName"],
        "n_trials": len(counted),
        "n_complete": sum(r["state"] == "COMPLETE" for r in rows),
        "n_pruned": sum(r["state"] == "PRUNED" for r in rows),
        "n_failed": sum(r["state"] == "FAIL" for r in rows),
        "space": space.to_dict(),
        "budget": asdict(budget),
        "fixed": fixed,
        "experiment": f"{experiment['metadata']['namespace']}/{experiment['metadata']['name']}",
        "trials": rows,
    }


def kubernetes_api():
    """CustomObjectsApi from the pod's service account, else the local kubeconfig."""
    from kubernetes import client, config

    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.CustomObjectsApi()


def search_katib(
    dataset_uri: str,
    training_image: str,
    namespace: str = "kubeflow",
    space: SearchSpace = SPACE,
    budget: Budget = BUDGET,
    max_epochs: int = 20,
    seed: int = 42,
    patience: int = 3,
    batch_size: int = 512,
    device: str = "auto",
    timeout_s: float = 6 * 3600,
    poll_s: float = 30.0,
    out_dir: str | None = None,
    api=None,
    echo: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """Create (or attach to) the Experiment, wait for it, and return the study in the local engine's shape (also
    written to ``out_dir/study.json`` when given)."""
    started = time.monotonic()
    api = api or kubernetes_api()
    fixed = {"max_epochs": int(max_epochs), "patience": int(patience), "batch_size": int(batch_size), "seed": int(seed)}
    name = experiment_name(dataset_uri, space, budget, fixed, training_image)
    experiment = katib_experiment(
        name, namespace, dataset_uri, training_image, space, budget, max_epochs, seed, patience, batch_size, device
    )
    attached = create_or_attach(api, experiment, echo).get("status", {})
    earlier = sum(int(attached.get(k, 0) or 0) for k in ("trialsSucceeded", "trialsEarlyStopped", "trialsFailed"))
    finished = await_experiment(api, name, namespace, timeout_s, poll_s, echo, sleep)
    trials = api.list_namespaced_custom_object(
        GROUP, VERSION, namespace, TRIALS, label_selector=f"{EXPERIMENT_LABEL}={name}"
    ).get("items", [])
    result = experiment_result(finished, trials, space, budget, fixed)
    result.update(resumed_trials=earlier, wall_s=round(time.monotonic() - started, 3))
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / STUDY_FILE).write_text(json.dumps(result, indent=2))
    echo(
        progress.line(
            "best_trial",
            f"best trial {result['best_trial']}: {OBJECTIVE_METRIC} "
            f"{result['best_value']:.4f} {result['best_params']} ({result['n_trials']} trials, "
            f"{result['n_pruned']} early-stopped, {result['n_failed']} failed)",
            trial=result["best_trial"],
            value=result["best_value"],
        )
    )
    return result

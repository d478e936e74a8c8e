"""The deploy step's core (plain Python over files; :mod:`pipelines.components.deploy` wraps it for KFP).

Collects the lineage from the upstream steps' outputs (load: feature service, time range, rows, data hash; select:
hyperparameters; evaluate: metrics; gate: decision and thresholds), verifies the data hash and the model's sha256,
then deploys: to KServe on a cluster (after publishing the version into the stack's models bucket, which is all the
model servers may read), to the local registry and serving process otherwise.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from pipelines.lineage import build_record, git_commit
from pipelines.registry import LocalRegistry, artifact_sha256
from pipelines.serving.rollout import HealthPolicy

TARGETS = ("auto", "local", "kserve")
PROBE_ROWS = 64
EVALUATION_METRICS = (
    "auc",
    "accuracy",
    "ece",
    "brier",
    "demographic_parity_difference",
    "equalized_odds_difference",
    "robust_auc",
    "robustness_drop",
)
_JSON_BLOCK = re.compile(r"```json\n(.*?)\n```", re.DOTALL)


def resolve_target(target: str) -> str:
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, got {target!r}")
    if target != "auto":
        return target
    in_cluster = (
        bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
        and Path("/var/run/secrets/kubernetes.io/serviceaccount/token").exists()
    )
    return "kserve" if in_cluster else "local"


def release_version(model_version: str, where: str, run_id: str) -> str:
    """The version a run deploys as: the given one, else ``run-<run id prefix>`` on a cluster, else empty (the local
    registry allocates ``v<N>`` at registration)."""
    return model_version or ("" if where == "local" else f"run-{run_id[:8]}")


def default_registry_root(registry_root: str, feature_repo: str) -> str:
    """``registry_root``, else ``registry`` next to the local ``feature_repo`` (``.local-run/registry``)."""
    if not registry_root and feature_repo:
        return os.path.join(os.path.dirname(os.path.abspath(feature_repo)), "registry")
    return registry_root


def gate_summary(report_path: str, metadata: dict) -> dict:
    """Decision, reasons, thresholds, the fairness policy applied and any honoured fairness exception, from the gate's
    report (its JSON block) and metadata."""
    match = _JSON_BLOCK.search(Path(report_path).read_text()) if Path(report_path).exists() else None
    result = json.loads(match.group(1)) if match else {}
    fairness = result.get("fairness") or {}
    policy = fairness.get("policy") or {}
    return {
        "decision": metadata.get("decision", result.get("decision")),
        "reasons": metadata.get("reasons", result.get("reasons", [])),
        "thresholds": {c["metric"]: c["rule"] for c in result.get("checks", [])},
        "fairness_policy": {
            "source": policy.get("source"),
            "sha256": policy.get("sha256"),
            "floors": fairness.get("floors"),
        }
        if policy
        else None,
        "fairness_exception": fairness.get("exception"),
    }


def collect_lineage(
    *,
    model_name: str,
    version: str,
    dataset_path: str,
    dataset_meta: dict,
    model_dir: str,
    model_uri: str,
    model_meta: dict,
    evaluation_path: str,
    gate: dict,
    deploy_params: dict,
    commit: str = "",
    run_id: str = "",
) -> dict:
    """The lineage record for a run, after checking the dataset still hashes to what the load step reported."""
    import pandas as pd

    from pipelines.ml.data import frame_hash

    frame = pd.read_parquet(dataset_path)
    actual = frame_hash(frame)
    if dataset_meta.get("data_hash") and dataset_meta["data_hash"] != actual:
        raise ValueError(
            f"dataset {dataset_path} hashes to {actual}, the load step reported {dataset_meta['data_hash']}"
        )
    data = {
        "feature_service": dataset_meta.get("feature_service"),
        "time_range": dataset_meta.get("time_range"),
        "rows_asked": _count(dataset_meta.get("rows_asked")),
        "rows_got": _count(dataset_meta.get("rows_got", len(frame))),
        "data_hash": actual,
    }
    study_file = Path(model_dir) / "study.json"  # the search that chose the hyperparameters (Katib or Optuna)
    study = json.loads(study_file.read_text()) if study_file.exists() else None
    evaluation = json.loads(Path(evaluation_path).read_text())
    fairness_metrics = ("demographic_parity_ratio", "equalized_odds_ratio", "decline_rate")
    search = (
        {
            k: study.get(k)
            for k in (
                "engine",
                "best_trial",
                "best_params",
                "best_value",
                "n_trials",
                "n_complete",
                "n_pruned",
                "n_failed",
            )
        }
        if study
        else None
    )
    parameters = {
        "hyperparams": model_meta.get("hyperparams"),
        "search": search,
        "world_size": model_meta.get("world_size"),
        "training_backend": model_meta.get("training_backend"),
        "reference_window": dataset_meta.get("reference_window"),
        "gate_thresholds": gate["thresholds"],
        **deploy_params,
    }
    record = build_record(
        model_name=model_name,
        version=version,
        data=data,
        git=commit or git_commit(),
        parameters={k: v for k, v in parameters.items() if v is not None},
        metrics={k: evaluation[k] for k in (*EVALUATION_METRICS, *fairness_metrics) if k in evaluation},
        artifact_uri=model_uri,
        sha256=artifact_sha256(model_dir),
        gate=gate,
        pipeline_run=run_id,
    )
    # Which fairness policy judged this version, and any exception that waived one of its checks (who, why, expiry).
    record["gate"].update({k: gate[k] for k in ("fairness_policy", "fairness_exception") if gate.get(k)})
    if study:
        record["hyperparameter_search"] = study  # every trial: params, state, value, per-epoch values
    if evaluation.get("decision_rule"):
        record["parameters"]["decision_rule"] = evaluation["decision_rule"]
    return record


def _count(value):
    """Row counts come back from KFP metadata as floats."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def probe_rows(dataset_path: str, limit: int = PROBE_ROWS) -> list[dict]:
    """Held-out rows (features only) to send as health-check traffic."""
    import pandas as pd

    from pipelines.features.schema import service_fields
    from pipelines.ml.data import split_of
    from pipelines.serving.probe import payload_rows

    frame = pd.read_parquet(dataset_path)
    held_out = frame[split_of(frame) == "test"]
    return payload_rows(held_out if len(held_out) else frame, [f.name for f in service_fields()], limit)


def deploy(
    *,
    target: str,
    model_name: str,
    version: str,
    lineage: dict,
    model_dir: str,
    model_uri: str,
    reference_profile: str,
    rows: list[dict],
    strategy: str,
    canary_percent: int,
    policy: HealthPolicy,
    window_seconds: float,
    registry_root: str,
    serving_url: str,
    feature_repo: str,
    namespace: str,
    serving_runtime: str,
    model_store_uri: str = "",
    kserve_api=None,
    run_id: str = "",
) -> tuple[dict, dict]:
    """Deploy and return ``(outcome, lineage record with the outcome)``.

    Locally an empty ``version`` is allocated inside the registry's lock at registration (``v<N>``, or the version
    already holding these bytes), so concurrent runs never race for a number; ``run_id`` names this run as the
    rollout's owner. On a cluster ``model_store_uri`` (the stack's ``models`` bucket) is required: the version is copied to
    ``<model_store_uri>/<model_name>/<version>/`` and the InferenceService reads it from there.
    """
    from pipelines.serving.local_deploy import Rollout

    where = resolve_target(target)
    if where == "local":
        from pipelines.serving.local_deploy import deploy_local

        registry = LocalRegistry(registry_root)
        version = registry.register(
            model_name, model_dir, version or None, lineage, {"reference_profile.json": reference_profile}
        ).version
        rollout = Rollout(model_name, version, strategy, canary_percent, policy, rows, window_seconds, run_id)
        outcome = deploy_local(registry, rollout, serving_url or None, feature_repo=feature_repo or None)
        return outcome, {**registry.get(model_name, version).lineage, "sha256": lineage["sha256"]}
    from pipelines.serving.kserve import KServeDeployer, ServiceSpec
    from pipelines.serving.model_store import publish

    if not version:
        raise ValueError("a cluster deployment needs a version (the pipeline passes the run id)")
    if not model_store_uri:
        raise ValueError(
            "a cluster deployment needs model_store_uri: the stack's models bucket (`pulumi stack output "
            "buckets --json`, key models), which is what the model servers may read"
        )
    lineage = {**lineage, "version": version}
    rollout = Rollout(model_name, version, strategy, canary_percent, policy, rows, window_seconds)
    storage_uri = publish(model_dir, model_store_uri, model_name, version, lineage["sha256"])
    lineage["serving_uri"] = storage_uri
    spec = ServiceSpec(
        name=model_name, storage_uri=storage_uri, sha256=lineage["sha256"], namespace=namespace, runtime=serving_runtime
    )
    outcome = KServeDeployer(api=kserve_api).deploy(spec, rollout, lineage)
    return outcome, {**lineage, "deployments": [outcome]}

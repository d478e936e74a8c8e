"""``mlops local``: the embedded local default, end to end on one machine with no cloud and no cluster.

Steps: gate every stack (offline preview -> translation -> Checkov), run the pipeline locally (synthetic data,
Feast apply/materialize, train -> validate -> gate -> canary deploy and promotion), serve the deployed model and
send real prediction requests, then say where every report is. Each step says what it does; a failure names the
step and why. Re-running is safe: the feature store is reused and every run registers a new model version.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MODEL = "credit-risk"


class StepFailed(Exception):
    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"step '{step}' failed: {reason}")
        self.step = step


@dataclass
class LocalSummary:
    reports: dict[str, Path | str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


LOCAL_ALLOW_UNSCANNED = ["command"]
"""What the local run's gate accepts unscanned, as ``mlops gate --all --allow-unscanned command`` in CI: the on-prem
node bootstrap (pulumi-command), for which Checkov has no input format. The rows are listed in every report."""


def gate_all_stacks(root: Path, say: Callable[[str], None]) -> dict[str, Path]:
    """Gate every stack and write the HTML and JSON reports.

    A gate that cannot do its job stops the run. Policy violations are reported loudly but do not stop it: the
    local run deploys none of the cloud stacks, and CI's ``mlops gate`` is what refuses a stack (exit 1)."""
    from policies.gate import GateError, collect_inputs, run_gate
    from policies.reports import write

    try:
        report = run_gate(collect_inputs(all_stacks=True), allow_unscanned=LOCAL_ALLOW_UNSCANNED)
    except GateError as exc:
        raise StepFailed("policy gate", str(exc)) from None
    reports = {"gate (HTML)": root / "reports" / "gate.html", "gate (JSON)": root / "reports" / "gate.json"}
    reports["gate (HTML)"].parent.mkdir(parents=True, exist_ok=True)
    write(report, "html", reports["gate (HTML)"])
    write(report, "json", reports["gate (JSON)"])
    for stack in report.stacks:
        counts = stack.counts()
        unscanned = sum(1 for row in stack.coverage if row.status == "unscanned")
        say(
            f"      {stack.stack:<16} {stack.resources_sent:>4} resources checked: {counts.get('PASSED', 0)} passed, "
            f"{counts.get('FAILED', 0)} failed, {counts.get('SUPPRESSED', 0)} suppressed (approved), "
            f"{unscanned} unscanned (allowed, listed in the report)"
        )
    if report.exit_code != 0:
        failed = sorted(
            {f"{f.stack}: {f.check_id} on {f.name}{' (' + f.note + ')' if f.note else ''}" for f in report.failed}
        )
        say(
            f"      GATE REFUSES {len(failed)} finding(s); `mlops gate` exits {report.exit_code} on these stacks in CI:"
        )
        for line in failed[:10]:
            say(f"        {line}")
        say(f"      see {reports['gate (HTML)']}; the local run goes on (it deploys none of these stacks)")
    return reports


def run_pipeline(root: Path, rows: int, max_epochs: int, say: Callable[[str], None]) -> dict[str, Path]:
    from pipelines.features.store import IngestionRefused
    from pipelines.local_run import LocalRunFailed, run_local

    try:
        result = run_local(root=root, rows=rows, max_epochs=max_epochs, echo=lambda line: say(f"    {line}"))
    except LocalRunFailed as exc:
        gate = exc.reports.get("gate")
        rejected = f"; the release gate rejected the model (see {gate}): " + "; ".join(exc.gate_reasons)
        raise StepFailed("pipeline", str(exc) + (rejected if gate and exc.gate_reasons else "")) from None
    except (IngestionRefused, FileNotFoundError) as exc:
        raise StepFailed("pipeline", str(exc)) from None
    metrics = ", ".join(f"{k} {v:.3f}" for k, v in result.metrics.items())
    say(f"      gate decision: {result.decision}; {metrics}")
    if result.decision != "deploy":
        raise StepFailed(
            "pipeline", f"the model gate refused the model ({result.decision}); see {result.reports['gate']}"
        )
    labels = {"model": "model artifact"}
    return {
        **{labels.get(name, f"{name} report"): path for name, path in result.reports.items()},
        "pipeline log": result.log,
    }


def serve_and_predict(root: Path, say: Callable[[str], None], sample: int = 5) -> dict[str, Path | str]:
    """Serve the registry's deployed versions and send real prediction requests for known applicants."""
    from pipelines.features.store import LocalFeatureStore
    from pipelines.registry import LocalRegistry, RegistryError
    from pipelines.serving.local_deploy import serving_endpoint
    from pipelines.serving.probe import entity_body, post_json

    registry = LocalRegistry(root / "registry")
    try:
        weights = registry.state(MODEL).weights
    except RegistryError as exc:
        raise StepFailed("serve", str(exc)) from None
    if not weights:
        raise StepFailed("serve", f"no version of {MODEL} is deployed in {registry.root}")
    say("      traffic: " + ", ".join(f"{version} {weight}%" for version, weight in weights.items()))
    store = LocalFeatureStore(root / "feature_repo")
    request_log = root / "serving" / "requests.jsonl"
    try:
        with serving_endpoint(registry, None, request_log, str(store.root)) as base:
            say(f"      serving {base}/v2/models/{MODEL}/infer (Open Inference Protocol v2)")
            for applicant in store.applicant_ids(sample):
                status, body = post_json(
                    f"{base}/v2/models/{MODEL}/infer", entity_body(applicant, f"local-{applicant}"), timeout=120
                )
                if status != 200:
                    raise StepFailed("serve", f"HTTP {status} for applicant {applicant}: {body.get('error', body)}")
                probability = body["outputs"][0]["data"][0]
                say(f"      applicant {applicant}: default probability {probability:.3f} ({body['model_version']})")
    except ConnectionError as exc:
        raise StepFailed("serve", str(exc)) from None
    stable = max(weights, key=lambda v: weights[v])
    return {
        "request log": request_log,
        "lineage": f"mlops lineage {stable} --root {root}",
        "model registry": registry.root,
    }


def run(root: Path, rows: int, max_epochs: int, say: Callable[[str], None]) -> LocalSummary:
    root = root.resolve()
    summary = LocalSummary()
    steps: list[tuple[str, Callable[[], dict]]] = [
        ("policy gate over every stack (offline preview -> Checkov)", lambda: gate_all_stacks(root, say)),
        (
            "pipeline: features -> validate -> train -> evaluate -> gate -> canary deploy",
            lambda: run_pipeline(root, rows, max_epochs, say),
        ),
        ("serve the deployed model and send prediction requests", lambda: serve_and_predict(root, say)),
    ]
    for number, (title, step) in enumerate(steps, start=1):
        say(f"[{number}/{len(steps)}] {title}")
        started = time.perf_counter()
        summary.reports.update(step())
        summary.timings[title] = time.perf_counter() - started
    return summary

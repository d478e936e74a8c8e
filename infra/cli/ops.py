"""``mlops serve``, ``mlops lineage``, ``mlops pipeline submit`` and ``mlops pipeline monitor``.

Registered by :mod:`infra.cli`; everything heavy (torch, Feast, kfp, requests) loads inside commands.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Annotated

import typer

from pipelines.paths import LOCAL_RUN
from pipelines.serving.monitor import DEFAULT_POLICY

DEFAULT_ROOT = LOCAL_RUN
MODEL = "credit-risk"
EXIT_RETRAIN_NEEDED = 3

RootOption = Annotated[Path, typer.Option("--root", help="The local run's working directory (registry, logs, store).")]
ModelOption = Annotated[str, typer.Option("--model", help="Model name in the registry.")]


def serve_command(
    root: RootOption = DEFAULT_ROOT,
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0: any free port).")] = 8080,
    feature_repo: Annotated[
        Path | None,
        typer.Option(help="Feast repository for entity-id requests (default: ROOT/feature_repo when it exists)."),
    ] = None,
    request_log_max_mb: Annotated[int, typer.Option(min=1, help="Rotate the request log past this size (MiB).")] = 50,
    request_log_backups: Annotated[int, typer.Option(min=1, help="Rotated request logs kept.")] = 5,
) -> None:
    """Serve the registry's deployed versions over KServe's Open Inference Protocol (v2 REST) until Ctrl-C."""
    from infra.cli.app import fail
    from pipelines.registry import LocalRegistry, RegistryError
    from pipelines.serving.server import ModelServer, ServingApp

    registry = LocalRegistry(root / "registry")
    repo = feature_repo or (root / "feature_repo" if (root / "feature_repo" / "feature_store.yaml").exists() else None)
    app = ServingApp(
        registry, root / "serving" / "requests.jsonl", repo, request_log_max_mb * 1024 * 1024, request_log_backups
    )
    try:
        for event in registry.recover_interrupted():  # a rollout whose process died (e.g. SIGKILL) must not stay live
            typer.echo(f"withdrew {event['version']} ({event['reason']}); {event['restored'] or 'nothing'} serves")
        models = {name: registry.state(name).weights for name in registry.models()}
        server = ModelServer(app, host, port)
    except RegistryError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    typer.echo(f"serving {server.url}/v2 (Open Inference Protocol); registry {registry.root}")
    for name, weights in models.items() or {"(none yet)": {}}.items():
        split = ", ".join(f"{v} {w}%" for v, w in weights.items()) or "nothing deployed"
        typer.echo(f"  {name}: {split}  ->  POST {server.url}/v2/models/{name}/infer")
    typer.echo(
        f"  request log {app.request_log} (rotated at {request_log_max_mb} MiB, {request_log_backups} kept); "
        f"online features: {repo or 'off (no --feature-repo)'}"
    )
    threading.Thread(target=_warm, args=(app,), daemon=True).start()  # listen at once, load models meanwhile
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        server.server_close()


def _warm(app) -> None:
    try:
        app.warm()
    except Exception as exc:  # noqa: BLE001 - requests report the same problem; say it once here
        typer.echo(f"warning: could not preload every model: {exc}", err=True)


def lineage_command(
    version: Annotated[str, typer.Argument(help="Model version, e.g. v3 (see the deploy step's output).")],
    model: Annotated[str | None, typer.Option("--model", help="Model name, when several share the version.")] = None,
    root: RootOption = DEFAULT_ROOT,
    as_json: Annotated[bool, typer.Option("--json", help="Print the record as JSON.")] = False,
) -> None:
    """Print a model version's lineage: data, code, parameters, metrics, artifact hash, gate and deployments."""
    from rich.console import Console

    from infra.cli.app import fail
    from pipelines.lineage import render
    from pipelines.registry import LocalRegistry, RegistryError

    try:
        mv = LocalRegistry(root / "registry").find(version, model)
    except RegistryError as exc:
        raise fail(str(exc)) from None
    record = {**mv.lineage, "model": mv.name, "version": mv.version, "sha256": mv.sha256}
    if as_json:
        typer.echo(json.dumps(record, indent=2, sort_keys=True))
    else:
        render(record, Console())


def predict_command(
    applicant_ids: Annotated[list[int] | None, typer.Argument(help="Applicant ids (default: known ones).")] = None,
    root: RootOption = DEFAULT_ROOT,
    model: ModelOption = MODEL,
    url: Annotated[str | None, typer.Option(help="A running `mlops serve` (default: serve in-process).")] = None,
    sample: Annotated[int, typer.Option(help="How many known applicants when none are named.")] = 5,
) -> None:
    """Send real prediction requests (applicant id -> Feast online features -> model) and print the answers."""
    import time

    from infra.cli.app import fail
    from pipelines.features.store import LocalFeatureStore
    from pipelines.registry import LocalRegistry
    from pipelines.serving.local_deploy import serving_endpoint
    from pipelines.serving.probe import entity_body, post_json

    store = LocalFeatureStore(root / "feature_repo")
    if not applicant_ids:
        if not store.has_data():
            raise fail(f"no feature store under {store.root}: run `mlops pipeline run --local` first")
        applicant_ids = store.applicant_ids(sample)
    try:
        with serving_endpoint(
            LocalRegistry(root / "registry"), url, root / "serving" / "requests.jsonl", str(store.root)
        ) as base:
            for applicant in applicant_ids:
                started = time.perf_counter()
                request = entity_body(applicant, f"predict-{applicant}")
                status, body = post_json(f"{base}/v2/models/{model}/infer", request, timeout=120)
                ms = (time.perf_counter() - started) * 1000
                if status == 200:
                    probability = body["outputs"][0]["data"][0]
                    typer.echo(
                        f"applicant {applicant}: default probability {probability:.3f} "
                        f"(model {model} {body['model_version']}, {ms:.0f} ms)"
                    )
                else:
                    typer.echo(f"applicant {applicant}: HTTP {status}: {body.get('error', body)}")
    except ConnectionError as exc:
        raise fail(str(exc)) from None


def submit_command(
    stack: Annotated[str | None, typer.Option("--stack", help="Stack whose kfp_endpoint output to use.")] = None,
    host: Annotated[str | None, typer.Option("--host", help="KFP API URL (instead of --stack).")] = None,
    stack_outputs: Annotated[Path | None, typer.Option(help="`pulumi stack output --json` saved to a file.")] = None,
    token_file: Annotated[Path | None, typer.Option(help="File holding a bearer token.")] = None,
    oidc_token_file: Annotated[Path | None, typer.Option(help="File holding an OIDC id token.")] = None,
    ca_bundle: Annotated[Path | None, typer.Option(help="PEM bundle of the private CA of the endpoint.")] = None,
    insecure_skip_tls_verify: Annotated[
        bool, typer.Option("--insecure-skip-tls-verify", help="DANGEROUS: do not verify the endpoint's certificate.")
    ] = False,
    pipeline_file: Annotated[Path | None, typer.Option(help="Compiled pipeline (default: the committed one).")] = None,
    pipeline_name: Annotated[str | None, typer.Option(help="Pipeline name on the server.")] = None,
    experiment: Annotated[str, typer.Option(help="Experiment for the run (created if missing).")] = MODEL,
    version_name: Annotated[str | None, typer.Option(help="Uploaded version's name (default: commit-time).")] = None,
    run_name: Annotated[str | None, typer.Option(help="Run display name.")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="Parameter NAME=VALUE (JSON value).")] = None,
    monitor: Annotated[bool, typer.Option("--monitor", help="Submit the monitoring pipeline instead.")] = False,
    cron: Annotated[str | None, typer.Option(help="Create a recurring run on this cron schedule (6 fields).")] = None,
    retries: Annotated[int, typer.Option(help="Retries of transient failures (exponential backoff).")] = 5,
    model_name: Annotated[
        str | None, typer.Option(help="Model to train or monitor (the pipeline's default: credit-risk).")
    ] = None,
    alert_webhook_url: Annotated[
        str | None, typer.Option(help="Webhook for retrain/rollback/gate-rejected alerts.")
    ] = None,
    alert_format: Annotated[str | None, typer.Option(help="alertmanager, pagerduty or servicenow.")] = None,
    alert_secret_env: Annotated[
        str | None,
        typer.Option(
            help="Env var in the step pods holding the alert credential (default MLOPS_ALERT_SECRET, from the "
            "mlops-alerting Secret)."
        ),
    ] = None,
) -> None:
    """Upload the compiled pipeline as a new version, start a run (or a recurring run), print its id and URL.

    Exit codes: 0 submitted, 2 bad input, 3 auth refused (401/403), 4 not found, 5 unreachable or TLS failure,
    6 API kept failing.
    """
    import tempfile

    from infra.cli.app import fail
    from pipelines.lineage import git_commit
    from pipelines.submit import (
        EXIT_USAGE,
        KfpClient,
        SubmitError,
        default_version_name,
        gpus_per_node,
        models_bucket,
        pipeline_parameters,
        requires_approval,
        resolve_token,
        submit,
    )
    from pipelines.submit import stack_outputs as stack_outputs_of

    try:
        if (stack is None) == (host is None):
            raise SubmitError("name exactly one of --stack NAME or --host URL", EXIT_USAGE)
        outputs: dict = {}
        if host is None:
            host, outputs = stack_outputs_of(stack, stack_outputs, Path(__file__).resolve().parents[2])
        endpoint = host
        parameters = _parse_params(param or [])
        parameters.update(_named_params(model_name, alert_webhook_url, alert_format, alert_secret_env))
        with tempfile.TemporaryDirectory() as tmp:
            if monitor:
                from pipelines.monitor_pipeline import PIPELINE_NAME, compile_to

                package = pipeline_file or Path(tmp) / "monitor.yaml"
                if pipeline_file is None:
                    compile_to(package)
                name = pipeline_name or PIPELINE_NAME
            else:
                from pipelines.compile import COMPILED

                package, name = pipeline_file or COMPILED, pipeline_name or "train-validate-deploy"
            commit = git_commit()
            accepted = pipeline_parameters(package)
            if "git_commit" in accepted and "git_commit" not in parameters:
                parameters["git_commit"] = commit
            if "model_store_uri" in accepted and "model_store_uri" not in parameters and models_bucket(outputs):
                parameters["model_store_uri"] = models_bucket(outputs)  # the stack's object-locked models bucket
            if "gpus_per_node" in accepted and "gpus_per_node" not in parameters and gpus_per_node(outputs):
                parameters["gpus_per_node"] = gpus_per_node(outputs)  # one rank per GPU of the pool's nodes
                typer.echo(f"gpus_per_node={parameters['gpus_per_node']} (the stack's GPU pools)", err=True)
            if "require_approval" in accepted and requires_approval(outputs):
                if parameters.get("require_approval") is False:
                    raise SubmitError(
                        "--param require_approval=false: the stack admits only signed-off versions "
                        "(release.requireHumanApproval); the deploy would be refused",
                        EXIT_USAGE,
                    )
                parameters["require_approval"] = True
            token, source = resolve_token(token_file, oidc_token_file)
            client = KfpClient(
                endpoint,
                token=token,
                ca_bundle=ca_bundle,
                retries=retries,
                insecure_skip_tls_verify=insecure_skip_tls_verify,
                warn=lambda message: typer.secho(message, fg="red", err=True, bold=True),
            )
            typer.echo(f"submitting {package.name} to {endpoint} (token: {source})", err=True)
            result = submit(
                client,
                Path(package),
                name,
                experiment,
                parameters,
                version_name or default_version_name(commit),
                run_name,
                cron,
            )
    except SubmitError as exc:
        raise fail(str(exc), code=exc.exit_code) from None
    what = "pipeline created" if result.created_pipeline else "new version"
    typer.echo(f"{what}: {name} {result.version_name} ({result.version_id})")
    typer.echo(f"{'recurring run' if cron else 'run'} id: {result.run_id}")
    typer.echo(f"url: {result.url}")


def _named_params(
    model_name: str | None, alert_webhook_url: str | None, alert_format: str | None, alert_secret_env: str | None
) -> dict:
    """The options both pipelines take, as parameters; alert settings are checked here, before anything is sent."""
    from pipelines.alerts import AlertConfig, AlertConfigError
    from pipelines.submit import EXIT_USAGE, SubmitError

    out = {
        k: v
        for k, v in {
            "model_name": model_name,
            "alert_webhook_url": alert_webhook_url,
            "alert_format": alert_format,
            "alert_secret_env": alert_secret_env,
        }.items()
        if v is not None
    }
    if alert_webhook_url is not None or alert_format is not None:
        try:
            AlertConfig.from_params(alert_webhook_url or "", alert_format or "", alert_secret_env or "")
        except AlertConfigError as exc:
            raise SubmitError(f"alert options: {exc}", EXIT_USAGE) from None
    return out


def _parse_params(items: list[str]) -> dict:
    from pipelines.submit import EXIT_USAGE, SubmitError

    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise SubmitError(f"--param {item!r}: use NAME=VALUE", EXIT_USAGE)
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def monitor_command(
    local: Annotated[bool, typer.Option("--local", help="Check the locally deployed model.")] = False,
    root: RootOption = DEFAULT_ROOT,
    model: ModelOption = MODEL,
    since_hours: Annotated[float, typer.Option(help="Served requests from the last N hours.")] = 24.0,
    window_start: Annotated[str | None, typer.Option(help="Check a labelled Feast window from this date.")] = None,
    window_end: Annotated[str | None, typer.Option(help="End of the Feast window (exclusive).")] = None,
    method: Annotated[str, typer.Option(help="psi or ks.")] = DEFAULT_POLICY.method,
    max_drift: Annotated[
        float, typer.Option(help="Drift limit per feature (PSI, or KS distance).")
    ] = DEFAULT_POLICY.max_drift,
    max_auc_drop: Annotated[
        float, typer.Option(help="Allowed AUC drop against training (labelled windows).")
    ] = DEFAULT_POLICY.max_auc_drop,
    min_rows: Annotated[int, typer.Option(help="Fewer rows decide nothing.")] = DEFAULT_POLICY.min_rows,
    retrain: Annotated[bool, typer.Option("--retrain", help="Run the pipeline when retraining is needed.")] = False,
    rows: Annotated[int, typer.Option(help="With --retrain: synthetic applications in the local store.")] = 20_000,
    max_epochs: Annotated[int, typer.Option(help="With --retrain: epochs per trial.")] = 6,
) -> None:
    """Check the deployed model for drift/degradation and print the decision; --retrain runs the pipeline.

    Exit codes: 0 no retraining needed (or it ran), 3 retraining needed (run again with --retrain), 2 bad input.
    On a cluster, submit the monitoring pipeline as a recurring run: `mlops pipeline submit --monitor --cron ...`.
    """
    import time

    from infra.cli.app import fail
    from pipelines.registry import LocalRegistry, RegistryError
    from pipelines.serving.monitor import RETRAIN, MonitorPolicy, check_deployed

    if not local:
        raise fail("only --local is implemented here; on a cluster use `mlops pipeline submit --monitor --cron ...`")
    if (window_start is None) != (window_end is None):
        raise fail("give both --window-start and --window-end, or neither")
    try:
        policy = MonitorPolicy(method, max_drift, max_auc_drop, min_rows)
        version, report = check_deployed(
            LocalRegistry(root / "registry"),
            model,
            policy,
            request_log=root / "serving" / "requests.jsonl",
            since=time.time() - since_hours * 3600,
            feature_repo=root / "feature_repo",
            window=(window_start, window_end) if window_start else None,
        )
    except (ValueError, RegistryError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    typer.echo(f"{model} {version}: {report.decision} ({report.rows} rows, {report.source})")
    for reason in report.reasons:
        typer.echo(f"  - {reason}")
    if report.decision != RETRAIN:
        return
    if not retrain:
        typer.echo("retraining needed: run again with --retrain")
        raise typer.Exit(EXIT_RETRAIN_NEEDED)
    from infra.cli.pipeline import run_command

    typer.echo("retraining: running the pipeline")
    run_command(local=True, rows=rows, max_epochs=max_epochs, root=root)


def approve_command(
    model: Annotated[str, typer.Argument(help="Model name, e.g. credit-risk.")],
    sha256: Annotated[str, typer.Argument(help="The gate-approved artifact's sha256 (the approve step prints it).")],
    root: RootOption = DEFAULT_ROOT,
    kubeconfig: Annotated[Path | None, typer.Option(help="Sign off on the cluster, as the kubeconfig's user.")] = None,
    context: Annotated[str | None, typer.Option(help="The kubeconfig context (default: its current one).")] = None,
    namespace: Annotated[str, typer.Option(help="The serving namespace (release-approvals).")] = "ml-serving",
) -> None:
    """Sign off a gate-approved model version for production (pipelines run with require_approval wait for it).

    On a cluster the sign-off is recorded under your own authenticated user name (asked of the API server), and
    the admission policy accepts it only from the approver groups. Locally it goes next to the local registry."""
    from infra.cli.app import fail
    from pipelines.serving.approvals import ApprovalError, LocalApprovals

    try:
        if kubeconfig is None:
            from pipelines.registry import current_actor

            approver = current_actor()["subject"]
            LocalApprovals(root / "registry").sign_off(model, sha256, approver)
        else:
            approver, approvals = _cluster_approvals(kubeconfig, context, namespace)
            approvals.sign_off(model, sha256, approver)
    except ApprovalError as exc:
        raise fail(str(exc), code=1) from None
    typer.echo(f"signed off {model} {sha256[:12]} as {approver}")


def _cluster_approvals(kubeconfig: Path, context: str | None, namespace: str):
    """(your user name as the API server sees it, the cluster's approvals) for the kubeconfig's user."""
    from infra.cli.app import fail
    from pipelines.serving.approvals import ClusterApprovals

    try:
        from kubernetes import client, config
        from kubernetes.client.rest import ApiException

        api = config.new_client_from_config(config_file=str(kubeconfig), context=context)
        review = client.AuthenticationV1Api(api).create_self_subject_review(client.V1SelfSubjectReview())
        username = review.status.user_info.username
        return username, ClusterApprovals(client.CoreV1Api(api), namespace)
    except (OSError, config.ConfigException) as exc:
        raise fail(f"--kubeconfig {kubeconfig}: {exc}") from None
    except ApiException as exc:
        raise fail(f"the API server refused to say who you are ({exc.status} {exc.reason})") from None


def register(app: typer.Typer, pipeline_app: typer.Typer) -> None:
    app.command("serve")(serve_command)
    app.command("lineage")(lineage_command)
    app.command("predict")(predict_command)
    release_app = typer.Typer(help="Release sign-off for production.", no_args_is_help=True)
    release_app.command("approve")(approve_command)
    app.add_typer(release_app, name="release")
    pipeline_app.command("submit")(submit_command)
    pipeline_app.command("monitor")(monitor_command)

"""`mlops pipeline submit` end to end through the CLI against the local KFP API server: output and exit codes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from infra.cli import app
from tests.pipelines.test_submit import PACKAGE_TEXT, TOKEN, api, package  # noqa: F401 - fixtures


def _invoke(*args, env=None):
    return CliRunner().invoke(app, ["pipeline", "submit", *args], env={"MLOPS_KFP_TOKEN": "", **(env or {})})


def test_submit_by_stack_outputs_prints_the_run_and_passes_the_commit(api, package, tmp_path):  # noqa: F811
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {"kfp_endpoint": api.url, "buckets": {"models": "s3://onprem-dc1-models"}, "training_gpus_per_node": 8}
        )
    )
    (tmp_path / "token").write_text(TOKEN)
    result = _invoke(
        "--stack",
        "onprem-dc1",
        "--stack-outputs",
        str(outputs),
        "--token-file",
        str(tmp_path / "token"),
        "--pipeline-file",
        str(package),
        "--param",
        "max_epochs=3",
    )
    assert result.exit_code == 0, result.output
    run = api.runs[0]
    assert f"run id: {run['run_id']}" in result.output
    assert f"url: {api.url}/#/runs/details/{run['run_id']}" in result.output
    assert "pipeline created" in result.output
    params = run["runtime_config"]["parameters"]
    assert params["max_epochs"] == 3 and len(params["git_commit"]) >= 7
    assert params["model_store_uri"] == "s3://onprem-dc1-models", "deploys publish to the stack's models bucket"
    assert params["gpus_per_node"] == 8, "one rank per GPU of the stack's GPU nodes"
    again = _invoke("--host", api.url, "--pipeline-file", str(package), env={"MLOPS_KFP_TOKEN": TOKEN})
    assert again.exit_code == 0 and "new version" in again.output


@pytest.mark.parametrize(("given", "sent"), [([], 1), (["--param", "gpus_per_node=2"], 2)])
def test_gpus_per_node_defaults_without_gpu_pools_and_an_explicit_value_wins(api, package, tmp_path, given, sent):  # noqa: F811
    outputs = tmp_path / "outputs.json"
    gpus = {"training_gpus_per_node": 4} if given else {}
    outputs.write_text(json.dumps({"kfp_endpoint": api.url, "buckets": {"models": "s3://m"}, **gpus}))
    result = _invoke(
        "--stack",
        "onprem-dc1",
        "--stack-outputs",
        str(outputs),
        "--pipeline-file",
        str(package),
        *given,
        env={"MLOPS_KFP_TOKEN": TOKEN},
    )
    assert result.exit_code == 0, result.output
    assert api.runs[0]["runtime_config"]["parameters"].get("gpus_per_node", 1) == sent


def test_a_stack_that_requires_sign_off_runs_the_pipeline_with_require_approval(api, tmp_path):  # noqa: F811
    pipeline_file = tmp_path / "p.yaml"
    pipeline_file.write_text(
        PACKAGE_TEXT.replace(
            "parameters:\n",
            "parameters:\n      require_approval:\n        defaultValue: false\n        parameterType: BOOLEAN\n",
            1,
        )
    )
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps({"kfp_endpoint": api.url, "buckets": {"models": "s3://m"}, "release_requires_approval": True})
    )
    base = ["--stack", "aws-uae-prod", "--stack-outputs", str(outputs), "--pipeline-file", str(pipeline_file)]
    refused = _invoke(*base, "--param", "require_approval=false", env={"MLOPS_KFP_TOKEN": TOKEN})
    assert refused.exit_code == 2 and "requireHumanApproval" in refused.output and not api.runs
    result = _invoke(*base, env={"MLOPS_KFP_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    assert api.runs[0]["runtime_config"]["parameters"]["require_approval"] is True


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], 2, "exactly one of --stack NAME or --host URL"),
        (["--stack", "aws-uae-prod", "--stack-outputs", "/nonexistent.json"], 2, "cannot read"),
        (["--host", "kfp.example"], 2, "must start with https://"),
        (["--host", "{url}", "--param", "nonsense"], 2, "NAME=VALUE"),
        (["--host", "{url}"], 3, "rejected the credentials"),
        (["--host", "{url}/not-kfp", "--token-file", "{token}"], 4, "not found"),
        (["--host", "http://127.0.0.1:9", "--retries", "0"], 5, "cannot reach"),
    ],
)
def test_failures_exit_with_the_documented_code(api, package, tmp_path, args, code, message):  # noqa: F811
    (tmp_path / "token").write_text(TOKEN)
    args = [a.format(url=api.url, token=tmp_path / "token") for a in args]
    result = _invoke(*args, "--pipeline-file", str(package))
    assert result.exit_code == code, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_monitor_pipeline_is_submitted_as_a_recurring_run(api, tmp_path):  # noqa: F811
    env = {"MLOPS_KFP_TOKEN": TOKEN}
    missing = _invoke("--host", api.url, "--monitor", "--cron", "0 0 */6 * * *", env=env)
    assert missing.exit_code == 2 and "model_store_uri" in missing.output and not api.requests
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"kfp_endpoint": api.url, "buckets": {"models": "s3://onprem-dc1-models"}}))
    result = _invoke(
        "--stack",
        "onprem-dc1",
        "--stack-outputs",
        str(outputs),
        "--monitor",
        "--cron",
        "0 0 */6 * * *",
        "--model-name",
        "credit-risk",
        "--alert-webhook-url",
        "https://am.internal:9093",
        "--alert-format",
        "alertmanager",
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "recurring run id:" in result.output
    assert api.pipelines and next(iter(api.pipelines.values()))["display_name"] == "monitor-credit-risk"
    job = api.recurring[0]
    assert job["trigger"]["cron_schedule"]["cron"] == "0 0 */6 * * *"
    assert job["runtime_config"]["parameters"] == {
        "model_store_uri": "s3://onprem-dc1-models",
        "model_name": "credit-risk",
        "alert_webhook_url": "https://am.internal:9093",
        "alert_format": "alertmanager",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--alert-format", "slack", "--alert-webhook-url", "https://hooks.example"],
            "alert_format 'slack': use one of",
        ),
        (["--alert-webhook-url", "https://am.example"], "alert_format ''"),
    ],
)
def test_bad_alert_options_are_refused_before_anything_is_sent(api, package, args, message):  # noqa: F811
    result = _invoke("--host", api.url, "--pipeline-file", str(package), *args, env={"MLOPS_KFP_TOKEN": TOKEN})
    assert result.exit_code == 2 and message in " ".join(result.output.split()) and not api.requests

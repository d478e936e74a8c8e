"""Component: a rejected release fails the run (KFP run state Failed) after sending the ``gate_rejected`` alert."""

from kfp.dsl import Input, Markdown

from pipelines.components._runtime import SERVING_UNUSED_STEPS, component


@component([], without=SERVING_UNUSED_STEPS)
def release_rejected(
    gate_report: Input[Markdown],
    model_name: str = "credit-risk",
    alert_webhook_url: str = "",
    alert_format: str = "",
    alert_secret_env: str = "MLOPS_ALERT_SECRET",
    run_id: str = "",
):
    """Runs only when the gate rejects; always exits non-zero with the gate's reasons."""
    from pipelines.steps.reject import release_rejected as reject

    reject(
        gate_report.path,
        dict(gate_report.metadata),
        model_name,
        alert_webhook_url,
        alert_format,
        alert_secret_env,
        run_id,
    )

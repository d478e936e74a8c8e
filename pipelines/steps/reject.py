"""When the release gate rejects: alert, then fail the run with the gate's reasons.

Without this step a rejected run ended "Succeeded" on a cluster (the deploy branch was simply skipped), so nobody
watching run states saw that a retrained model had been refused. The gate's report is already written (it is the
gate step's output); this step only makes the refusal loud.
"""

from __future__ import annotations


class ReleaseRejected(RuntimeError):
    """The release gate refused the model; the message lists every failed threshold."""


def release_rejected(
    report_path: str,
    metadata: dict,
    model_name: str,
    alert_webhook_url: str = "",
    alert_format: str = "",
    alert_secret_env: str = "",
    run_id: str = "",
    log=print,
) -> None:
    """Send the ``gate_rejected`` alert, then raise :class:`ReleaseRejected` (always: that is the step's job)."""
    from pipelines.alerts import DEFAULT_SECRET_ENV, GATE_REJECTED, Alert, notify
    from pipelines.serving.deploy import gate_summary

    gate = gate_summary(report_path, metadata)
    reasons = list(gate.get("reasons") or []) or ["the gate decided reject without a reason (see its report)"]
    summary = f"release gate rejected {model_name}: {'; '.join(reasons)}"
    alert = notify(
        alert_webhook_url,
        alert_format,
        alert_secret_env or DEFAULT_SECRET_ENV,
        Alert(
            GATE_REJECTED,
            model_name,
            summary[:300],
            {"run_id": run_id, "reasons": reasons, "thresholds": gate.get("thresholds", {})},
        ),
        log=log,
    )
    log(f"gate_rejected alert: {alert}")
    raise ReleaseRejected(f"{summary} (alert: {alert}; the release gate's report lists every check)")

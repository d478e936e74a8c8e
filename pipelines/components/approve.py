"""Component: record the release gate's approval of the gated model's exact bytes, and with ``require_approval`` wait
for a human approver's sign-off, where the deploy side (and on a cluster the API server) checks them."""

from kfp.dsl import Input, Model

from pipelines.components._runtime import KUBERNETES, SERVING_UNUSED_STEPS, component


@component([KUBERNETES], without=SERVING_UNUSED_STEPS)
def approve_release(
    model: Input[Model],
    model_name: str = "credit-risk",
    model_version: str = "",
    target: str = "auto",
    registry_root: str = "",
    feature_repo: str = "",
    namespace: str = "ml-serving",
    require_approval: bool = False,
    approval_timeout_seconds: float = 86400.0,
    run_id: str = "",
    pipeline_job_id: str = "",
) -> str:
    """Returns the approved sha256. Runs only when the gate decided ``deploy``; on a cluster it acts as the
    ``release-gate`` identity (its mounted token), the only writer the admission policy allows.

    ``model_version``, ``registry_root``, ``run_id``: as the deploy step (the same version is approved).
    ``require_approval``: wait up to ``approval_timeout_seconds`` for ``<model>.<sha256>.approved-by`` from an
    approver (on a cluster a member of the approver groups, by ``kubectl patch``; locally ``mlops release approve``).
    """
    from pipelines.registry import artifact_sha256
    from pipelines.serving.approvals import (
        GATE_TOKEN,
        Approvals,
        ClusterApprovals,
        LocalApprovals,
        api_client,
        wait_for_sign_off,
    )
    from pipelines.serving.deploy import default_registry_root, release_version, resolve_target

    approvals: Approvals
    where = resolve_target(target)
    sha256 = artifact_sha256(model.path)
    version = release_version(model_version, where, run_id or pipeline_job_id)
    if where == "local":
        approvals = LocalApprovals(default_registry_root(registry_root, feature_repo))
    else:
        from kubernetes import client

        approvals = ClusterApprovals(client.CoreV1Api(api_client(GATE_TOKEN)), namespace)
    approvals.record(model_name, sha256, version)
    print(f"approve: {model_name} sha256 {sha256} approved by the release gate" + (f" as {version}" if version else ""))
    if require_approval:
        print(f"approve: waiting up to {approval_timeout_seconds:.0f} s for a human approval of {model_name}.{sha256}")
        approver = wait_for_sign_off(approvals.entries, model_name, sha256, approval_timeout_seconds)
        print(f"approve: signed off by {approver}")
    return sha256

"""A Helm release of a chart pinned in :mod:`components.versions`, installed the same way everywhere: the chart
addressed as ``<repository>/<name>`` (OCI) or by name in its HTTP(S) repository, at its exact version, into a namespace the platform created (never by Helm),
rolled back when an install fails, with a bounded release history."""

from __future__ import annotations

from typing import Any

import pulumi

from components.versions import HelmChart


def pinned_release(
    resource_name: str,
    release_name: str,
    chart: HelmChart,
    namespace: Any,
    opts: pulumi.ResourceOptions,
    values: Any = None,
    timeout: int | None = None,
) -> Any:
    """The ``helm.v3.Release`` of ``chart`` named ``release_name`` in ``namespace``."""
    from pulumi_kubernetes.helm.v3 import Release, RepositoryOptsArgs

    oci = chart.repository.startswith("oci://")
    return Release(
        resource_name,
        name=release_name,
        chart=f"{chart.repository}/{chart.name}" if oci else chart.name,
        repository_opts=None if oci else RepositoryOptsArgs(repo=chart.repository),
        version=chart.version,
        namespace=namespace,
        create_namespace=False,
        cleanup_on_fail=True,
        max_history=10,
        values=values,
        timeout=timeout,
        opts=opts,
    )

"""Drives the policy pack with real pulumi_policy objects; runs under ``.venv-policy/bin/python`` (pulumi-policy
cannot live in ``.venv``). Reads ``{"resources": [...]}`` on stdin: each resource as the engine sends it
(``urn``, ``type``, ``props`` in engine JSON, ``parent``, ``provider`` {urn, type, name, props} or null,
``dependencies``, ``propertyDependencies``). Prints JSON on stdout.

``validate``: builds ``PolicyResource`` / ``StackValidationArgs`` the way pulumi_policy's analyzer does (secrets
unwrapped, props behind the unknown-checking proxy, parents and dependencies linked) and calls the pack's policy
with a ``report_violation`` that records.

``engine``: starts the pack the way the Pulumi CLI does (``python -u -m pulumi.policy <engine> .`` in the pack
folder), reads the port it prints and calls ``GetAnalyzerInfo`` and ``AnalyzeStack`` over gRPC.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
PACK_DIR = REPO_ROOT / "policies" / "pack"
PROVIDER_SDKS = ("pulumi_aws", "pulumi_azure_native", "pulumi_kubernetes", "pulumi_random", "pulumi_command")


def policy_resources(resources: list[dict[str, Any]]) -> list[Any]:
    from pulumi_policy.deserialize import deserialize_properties
    from pulumi_policy.policy import (
        PolicyCustomTimeouts,
        PolicyProviderResource,
        PolicyResource,
        PolicyResourceOptions,
    )
    from pulumi_policy.proxy import unknown_checking_proxy

    built: dict[str, Any] = {}
    for r in resources:
        prov = r.get("provider")
        provider = (
            None
            if prov is None
            else PolicyProviderResource(
                prov["type"],
                unknown_checking_proxy(deserialize_properties(prov.get("props") or {})),
                prov["urn"],
                prov["name"],
            )
        )
        opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], r.get("parent"))
        props = unknown_checking_proxy(deserialize_properties(r.get("props") or {}))
        built[r["urn"]] = PolicyResource(
            r["type"], props, r["urn"], r["urn"].rsplit("::", 1)[1], opts, provider, None, [], {}
        )
    for r in resources:
        resource = built[r["urn"]]
        resource.parent = built.get(r.get("parent") or "")
        resource.dependencies = [built[u] for u in r.get("dependencies") or [] if u in built]
        resource.property_dependencies = {
            k: [built[u] for u in urns if u in built] for k, urns in (r.get("propertyDependencies") or {}).items()
        }
    return list(built.values())


def validate(resources: list[dict[str, Any]]) -> dict[str, Any]:
    sys.path.insert(0, str(REPO_ROOT))
    from pulumi_policy import StackValidationArgs, StackValidationPolicy

    from policies.pack.validation import gate_policy

    violations: list[dict[str, Any]] = []
    policy = gate_policy()
    assert isinstance(policy, StackValidationPolicy)
    result = policy.validate(
        StackValidationArgs(policy_resources(resources), {}, {}),
        lambda message, urn=None: violations.append({"message": message, "urn": urn}),
    )
    return {
        "returned": repr(result),
        "violations": violations,
        "provider_sdks_imported": sorted(m for m in sys.modules if m.split(".")[0] in PROVIDER_SDKS),
    }


def analyzer_resource(r: dict[str, Any]) -> Any:
    from google.protobuf import json_format, struct_pb2
    from pulumi.runtime.proto import analyzer_pb2

    def struct(props: dict[str, Any]) -> Any:
        return json_format.ParseDict(props, struct_pb2.Struct())

    message = analyzer_pb2.AnalyzerResource(
        type=r["type"],
        urn=r["urn"],
        name=r["urn"].rsplit("::", 1)[1],
        parent=r.get("parent") or "",
        properties=struct(r.get("props") or {}),
        dependencies=r.get("dependencies") or [],
        options=analyzer_pb2.AnalyzerResourceOptions(parent=r.get("parent") or ""),
    )
    for key, urns in (r.get("propertyDependencies") or {}).items():
        message.propertyDependencies[key].urns.extend(urns)
    if r.get("provider"):
        prov = r["provider"]
        message.provider.CopyFrom(
            analyzer_pb2.AnalyzerProviderResource(
                type=prov["type"], urn=prov["urn"], name=prov["name"], properties=struct(prov.get("props") or {})
            )
        )
    return message


def engine(resources: list[dict[str, Any]]) -> dict[str, Any]:
    import grpc
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

    pack = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", "."],
        cwd=PACK_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert pack.stdout is not None and pack.stderr is not None
    try:
        port = pack.stdout.readline().strip()
        if not port.isdigit():
            raise SystemExit(f"the pack did not start: stdout {port!r}, stderr:\n{pack.stderr.read()}")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=60)
            response = stub.AnalyzeStack(
                analyzer_pb2.AnalyzeStackRequest(resources=[analyzer_resource(r) for r in resources]), timeout=600
            )
    finally:
        pack.kill()
        pack.wait()
    level = analyzer_pb2.EnforcementLevel.Name
    return {
        "pack": info.name,
        "description": info.description,
        "policies": [
            {"name": p.name, "enforcement_level": level(p.enforcementLevel), "type": p.policy_type}
            for p in info.policies
        ],
        "diagnostics": [
            {"policy": d.policyName, "message": d.message, "urn": d.urn, "enforcement_level": level(d.enforcementLevel)}
            for d in response.diagnostics
        ],
    }


if __name__ == "__main__":
    request = json.load(sys.stdin)
    command = {"validate": validate, "engine": engine}[sys.argv[1]]
    json.dump(command(request["resources"]), sys.stdout)

"""ARM types Checkov's check families key on, ``dependsOn`` links, and the effective region of every resource
(own input, else explicit provider, else default provider), checked by the real Checkov with the custom checks."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from policies.preview.model import PreviewResource, PreviewResult
from policies.translate import CONTEXT_FILE, azure, effective_regions, translate
from policies.translate.generate_azure_schema import arm_from_path
from tests import venvs

REPO = Path(__file__).resolve().parents[3]
CHECKOV = venvs.CHECKOV
CHECKS_DIR = REPO / "policies" / "checks"
STACK = "urn:pulumi:t::p::"
RG = "/subscriptions/s/resourceGroups/rg"


def _res(type_: str, pname: str, provider: str | None = None, deps: dict | None = None, **inputs) -> PreviewResource:
    return PreviewResource(
        urn=f"{STACK}{type_}::{pname}",
        type=type_,
        name=pname,
        inputs=inputs,
        provider=provider,
        property_dependencies=deps or {},
    )


def _synapse_and_webapp() -> PreviewResult:
    ws = _res(
        "azure-native:synapse:Workspace",
        "ws",
        workspaceName="synws",
        resourceGroupName="rg",
        location="uaenorth",
        tags={"owner": "a", "cost-center": "b", "data-classification": "c"},
    )
    rule = _res(
        "azure-native:synapse:IpFirewallRule",
        "allow-all",
        deps={"workspaceName": [ws.urn]},
        workspaceName="synws",
        resourceGroupName="rg",
        ruleName="allowall",
        startIpAddress="0.0.0.0",
        endIpAddress="255.255.255.255",
    )
    pool = _res(
        "azure-native:synapse:SqlPool",
        "pool",
        deps={"workspaceName": [ws.urn]},
        workspaceName="synws",
        resourceGroupName="rg",
        sqlPoolName="pool1",
        location="uaenorth",
    )
    app = _res(
        "azure-native:web:WebApp",
        "app",
        name="app-mlops",
        resourceGroupName="rg",
        location="uaenorth",
        httpsOnly=False,
        siteConfig={"minTlsVersion": "1.0"},
    )
    return PreviewResult(project="p", stack="t", source="t", resources=[ws, rule, pool, app])


def test_synapse_and_web_types_are_the_arm_types():
    out = translate(_synapse_and_webapp())
    docs = {d["type"]: d for d in out.files["arm.json"]["resources"]}
    assert set(docs) == {
        "Microsoft.Synapse/workspaces",
        "Microsoft.Synapse/workspaces/firewallRules",
        "Microsoft.Synapse/workspaces/sqlPools",
        "Microsoft.Web/sites",
    }
    assert docs["Microsoft.Synapse/workspaces/firewallRules"]["name"] == "synws/allowall"
    assert docs["Microsoft.Synapse/workspaces/sqlPools"]["name"] == "synws/pool1"
    assert docs["Microsoft.Web/sites"]["name"] == "app-mlops"
    assert docs["Microsoft.Web/sites"]["properties"]["httpsOnly"] is False
    # the rule refers to the workspace, and the workspace lists its attached rule (what CKV2_AZURE_19 reads)
    assert docs["Microsoft.Synapse/workspaces/firewallRules"]["dependsOn"] == [
        "[resourceId('Microsoft.Synapse/workspaces', 'synws')]"
    ]
    assert docs["Microsoft.Synapse/workspaces"]["dependsOn"] == [
        "[resourceId('Microsoft.Synapse/workspaces/firewallRules', 'synws/allowall')]"
    ]
    assert not any("naming rule" in row.detail for row in out.coverage)


@pytest.mark.parametrize(
    "path, expected",
    [
        (
            "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Web/sites/{name}",
            ("Microsoft.Web/sites", ("name",), (None,)),
        ),
        (
            (
                "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Synapse/workspaces/"
                "{workspaceName}/firewallRules/{ruleName}"
            ),
            ("Microsoft.Synapse/workspaces/firewallRules", ("workspaceName", "ruleName"), (None, None)),
        ),
        (
            (
                "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/"
                "{accountName}/blobServices/default/containers/{containerName}"
            ),
            (
                "Microsoft.Storage/storageAccounts/blobServices/containers",
                ("accountName", "", "containerName"),
                (None, "default", None),
            ),
        ),
        (
            "/{resourceUri}/providers/Microsoft.Insights/diagnosticSettings/{name}",
            ("Microsoft.Insights/diagnosticSettings", ("name",), (None,)),
        ),
        ("/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}", None),
    ],
)
def test_arm_type_from_the_resource_id_path(path, expected):
    assert arm_from_path(path) == expected


def test_every_sdk_type_has_a_derived_arm_type_or_is_an_error():
    """No naming rule is left: each azure-native resource the SDK exposes is reviewed, typed by the SDK's resource
    id path, or untranslatable (the gate fails). The reviewed table agrees with the SDK's paths where both exist."""
    tokens = azure.api_versions()
    assert set(azure.ARM_TYPES) <= set(tokens), "reviewed tokens the SDK does not have"
    for token in tokens:
        found = azure.arm_type(token)
        path = azure.arm_paths().get(token)
        if path is None:
            assert found is None or found[1], token
            continue
        assert found is not None and found[0].type == arm_from_path(path)[0], token
    unknown = next(t for t in tokens if azure.arm_type(t) is None)  # e.g. any type nobody reviewed
    out = translate(PreviewResult("p", "t", "t", [_res(unknown, "u")]))
    assert [c.status for c in out.coverage] == ["untranslatable"]
    assert "ARM type unknown" in out.errors[0]


def test_token_path_file_covers_sdk_types(capsys):
    """``azure_token_paths.json`` (the provider's token -> ARM id path metadata, unversioned tokens) fills
    ``arm_paths``: every SDK resource token it names gets its path where the path parses to an ARM type, and every
    SDK token is reviewed, typed by that path, or counted as untranslatable (reported, not failed: the file is
    a partial transcription)."""
    from policies.translate.generate_azure_schema import token_paths

    file_paths = token_paths()
    assert file_paths, "azure_token_paths.json is empty"
    assert all(t.count(":") == 2 and "/" not in t.split(":")[1] for t in file_paths), "versioned token in the file"
    tokens = azure.api_versions()
    # A path with an odd number of type/name segments (``.../staticWebsite``, ``.../legalHold``) is an action, not
    # an ARM resource: it stays in the file as the provider states it but gives no type.
    assert {t: p for t, p in file_paths.items() if t in tokens and arm_from_path(p)} == azure.arm_paths()
    uncovered = [t for t in tokens if t not in azure.ARM_TYPES and t not in azure.arm_paths()]
    assert all(azure.arm_type(t) is None for t in uncovered)
    with capsys.disabled():
        print(
            f"\nazure-native resource tokens: {len(tokens)}, reviewed {len(azure.ARM_TYPES)}, "
            f"typed by path {len(azure.arm_paths())}, untranslatable {len(uncovered)}"
        )


@pytest.mark.parametrize(
    "token, arm",
    [
        ("azure-native:network:NetworkInterface", "Microsoft.Network/networkInterfaces"),
        ("azure-native:network:PublicIPAddress", "Microsoft.Network/publicIPAddresses"),
        ("azure-native:applicationinsights:Component", "Microsoft.Insights/components"),
        ("azure-native:storage:BlobContainer", "Microsoft.Storage/storageAccounts/blobServices/containers"),
    ],
)
def test_unreviewed_types_translate_from_the_token_path_file(token, arm):
    found = azure.arm_type(token)
    assert found is not None and found[0].type == arm


# --- effective region: own input, else explicit provider, else default provider ---------------------------------

AWS_PROVIDER = "pulumi:providers:aws"
AZ_PROVIDER = "pulumi:providers:azure-native"


def _regional(defaults: dict, explicit: str | None = None, packages=("aws", "azure-native")) -> PreviewResult:
    resources: list[PreviewResource] = []
    provider_ref = None
    if explicit:
        prov = _res(AWS_PROVIDER, "eu", region=explicit)
        resources.append(prov)
        provider_ref = f"{prov.urn}::0f1e2d"
    resources += [
        _res("aws:s3/bucket:Bucket", "data", provider=provider_ref, bucket="data", tags={}),
        _res(
            "azure-native:storage:StorageAccount",
            "st",
            accountName="stdata",
            resourceGroupName="rg",
            kind="StorageV2",
            sku={"name": "Standard_LRS"},
        ),
    ]
    resources = [r for r in resources if r.package in packages or r.type.startswith("pulumi:providers:")]
    return PreviewResult(project="p", stack="t", source="t", resources=resources, provider_defaults=defaults)


def test_effective_region_order():
    result = _regional(
        {"aws": {"region": "me-central-1"}, "azure-native": {"location": "westeurope"}}, explicit="eu-west-1"
    )
    regions = effective_regions(result)
    assert regions[f"{STACK}aws:s3/bucket:Bucket::data"] == "eu-west-1"  # explicit provider beats the default
    assert regions[f"{STACK}azure-native:storage:StorageAccount::st"] == "westeurope"  # default provider
    own = _res("aws:s3/bucket:Bucket", "own", region="me-central-1")
    assert effective_regions(PreviewResult("p", "t", "t", [own], provider_defaults={"aws": {"region": "x"}})) == {
        own.urn: "me-central-1"
    }


def test_effective_region_is_written_into_the_translated_resources():
    out = translate(
        _regional({"aws": {"region": "me-central-1"}, "azure-native": {"location": "westeurope"}}, explicit="eu-west-1")
    )
    (bucket,) = out.files["tfplan.json"]["planned_values"]["root_module"]["resources"]
    assert bucket["values"]["region"] == "eu-west-1"
    (account,) = out.files["arm.json"]["resources"]
    assert account["location"] == "westeurope"


def _write(files: dict, root: Path) -> None:
    for name, doc in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=1))


def _scan(results: dict[str, PreviewResult], root: Path) -> dict[str, dict[str, set[str]]]:
    """Each stack translated into its own folder (own context file), one Checkov run over them all: resource id ->
    {"passed": check ids, "failed": check ids}, built-in and custom checks."""
    venvs.require(CHECKOV, "Checkov's environment (.venv-checkov)")
    for folder, result in results.items():
        out = translate(result)
        assert not out.errors
        _write(out.files, root / folder)
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    env.pop("BC_API_KEY", None)
    proc = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(root),
            "--external-checks-dir",
            str(CHECKS_DIR),
            "--framework",
            "terraform_plan",
            "arm",
            "-o",
            "json",
            "--compact",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    reports = json.loads(proc.stdout)
    found: dict[str, dict[str, set[str]]] = {}
    for report in reports if isinstance(reports, list) else [reports]:
        for kind, key in (("passed_checks", "passed"), ("failed_checks", "failed")):
            for c in report["results"][kind]:
                found.setdefault(c["resource"], {"passed": set(), "failed": set()})[key].add(c["check_id"])
    return found


@pytest.mark.slow
def test_checkov_flags_allow_all_synapse_rule_and_http_web_app(tmp_path):
    found = _scan({"az": _synapse_and_webapp()}, tmp_path)
    assert "CKV2_AZURE_19" in found["Microsoft.Synapse/workspaces.synws"]["failed"]
    # the SQL pool graph checks (alert policy, vulnerability assessment, ...) key on workspaces/sqlPools
    assert len(found["Microsoft.Synapse/workspaces/sqlPools.synws/pool1"]["failed"]) >= 3
    assert "CKV_AZURE_14" in found["Microsoft.Web/sites.app-mlops"]["failed"]  # AppServiceHTTPSOnly
    assert (
        len(found["Microsoft.Web/sites.app-mlops"]["passed"] | found["Microsoft.Web/sites.app-mlops"]["failed"]) >= 15
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "defaults, explicit, expect",
    [
        (
            {"aws": {"region": "me-central-1"}, "azure-native": {"location": "uaenorth"}},
            "eu-west-1",
            ("failed", "passed"),
        ),
        ({"aws": {"region": "us-east-1"}, "azure-native": {"location": "westeurope"}}, None, ("failed", "failed")),
        ({"aws": {"region": "me-central-1"}, "azure-native": {"location": "uaenorth"}}, None, ("passed", "passed")),
    ],
)
def test_residency_checks_see_the_effective_region(tmp_path, defaults, explicit, expect):
    found = _scan(
        {"aws": _regional(defaults, explicit, ("aws",)), "az": _regional(defaults, explicit, ("azure-native",))},
        tmp_path,
    )
    assert json.loads((tmp_path / "aws" / CONTEXT_FILE).read_text())["allowed_regions"] == ["me-central-1"]
    assert json.loads((tmp_path / "az" / CONTEXT_FILE).read_text())["allowed_regions"] == ["uaenorth"]
    assert "CKV_MLOPS_001" in found["aws_s3_bucket.data"][expect[0]]
    assert "CKV_MLOPS_101" in found["Microsoft.Storage/storageAccounts.stdata"][expect[1]]


@pytest.mark.slow
def test_a_stack_cannot_widen_residency_through_the_gate_context(tmp_path):
    """mlops:residency.allowedRegions [eu-west-1] with region eu-west-1: the gate's context is the intersection
    with the organisation policy (policies/residency.yaml), so CKV_MLOPS_001 fails."""
    result = _regional({"aws": {"region": "eu-west-1"}}, packages=("aws",))
    result.context = {"target": "aws", "region": "eu-west-1", "allowed_regions": ["eu-west-1"]}
    found = _scan({"aws": result}, tmp_path)
    assert "CKV_MLOPS_001" in found["aws_s3_bucket.data"]["failed"]

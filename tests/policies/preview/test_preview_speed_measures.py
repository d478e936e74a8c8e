"""What keeps the offline preview fast must not change what it records (benchmarks/preview.py has the timings)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest

from policies.preview.runner import SPEED_MEASURES_ENV, _is_type_version_alias, speed_measures
from tests.conftest import run_mocked

ROOT = Path(__file__).resolve().parents[3]

SHALLOW_LOOKUPS = """
import json, sys
from policies.preview import sdk_imports
sdk_imports.install()
import pulumi_kubernetes.core.v1.Secret  # binds the module `Secret` where the package exports the class
import pulumi_azure_native, pulumi_aws, pulumi_kubernetes

LOOKUPS = {
    pulumi_azure_native.network: ["VirtualNetwork", "Subnet", "PrivateEndpoint", "SubnetArgs", "outputs"],
    pulumi_azure_native.authorization: ["RoleAssignment", "get_client_config", "get_client_config_output"],
    pulumi_azure_native.storage: ["StorageAccount", "BlobContainerImmutabilityPolicy", "SkuName"],
    pulumi_kubernetes.core: ["v1"],
    pulumi_kubernetes.core.v1: ["Namespace", "Secret", "ConfigMap", "NamespaceInitArgs"],
    pulumi_kubernetes.meta.v1: ["ObjectMetaArgs"],
    pulumi_kubernetes.helm.v3: ["Release"],
    pulumi_aws.s3: ["BucketV2", "BucketServerSideEncryptionConfiguration"],
    pulumi_aws.iam: ["OpenIdConnectProvider", "get_policy_document"],
}
found = {pkg: {name: getattr(pkg, name) for name in names} for pkg, names in LOOKUPS.items()}
shallow = [pkg.__name__ for pkg in LOOKUPS if type(pkg) is sdk_imports._ShallowPackage]
mismatches = []
for pkg, values in found.items():
    dir(pkg)  # runs the package's own __init__
    mismatches += [f"{pkg.__name__}.{name}" for name, value in values.items() if getattr(pkg, name) is not value]
star = {}
exec("from pulumi_azure_native.keyvault import *", star)
print(json.dumps({"shallow": shallow, "mismatches": mismatches, "star": sorted(n for n in ("Vault", "Key") if n in star)}))
"""

WHOLE_PACKAGES_AFTER_PREVIEW = """
import json, sys
from policies.preview.runner import preview_stack
for stack in ("aws-uae-prod", "azure-uae-prod", "onprem-dc1"):
    preview_stack(stack)
whole = sorted(
    name for name, module in sys.modules.items()
    if name.startswith("pulumi_") and "." in name and type(module).__name__ == "module" and hasattr(module, "__path__")
)
print(json.dumps(whole))
"""


def _run(code: str) -> object:
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def test_shallow_sdk_packages_give_what_the_full_package_exports() -> None:
    result = _run(SHALLOW_LOOKUPS)
    assert len(result["shallow"]) == 9, f"a lookup ran a package __init__: only {result['shallow']} stayed shallow"
    assert result["mismatches"] == []
    assert result["star"] == ["Key", "Vault"]


def test_stack_previews_never_import_a_whole_sdk_package() -> None:
    """A lookup the shallow packages cannot place (dir(), import *) costs up to 0.8 s: keep them out of the program."""
    assert _run(WHOLE_PACKAGES_AFTER_PREVIEW) == []


def test_only_sdk_type_version_aliases_are_left_out() -> None:
    import pulumi_kubernetes as k8s

    seen: dict[str, list] = {}

    def program() -> None:
        def record(args: pulumi.ResourceTransformationArgs) -> None:
            seen[args.name] = list(args.opts.aliases or [])

        pulumi.runtime.register_stack_transformation(record)  # runs after the preview's own
        k8s.apps.v1.Deployment(
            "web",
            spec={"selector": {"match_labels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}}},
            opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name="web-old")]),
        )

    result = run_mocked(program)
    assert [r.name for r in result.resources if r.type == "kubernetes:apps/v1:Deployment"] == ["web"]
    assert [(a.name, a.type_) for a in seen["web"]] == [("web-old", ...)]


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        (pulumi.Alias(type_="azure-native:network/v20180101:VirtualNetwork"), True),
        (pulumi.Alias(type_="azure-native:network:VirtualNetworkOld"), False),
        (pulumi.Alias(type_="azure-native:network/v20180101:VirtualNetwork", name="old"), False),
        (pulumi.Alias(type_="aws:network:VirtualNetwork"), False),
        ("urn:pulumi:stack::project::azure-native:network:VirtualNetwork::vnet", False),
    ],
)
def test_type_version_alias_recognised(alias: object, expected: bool) -> None:
    assert _is_type_version_alias(alias, "azure-native:network:VirtualNetwork") is expected


def test_collector_state_is_restored() -> None:
    run_mocked(lambda: None)
    assert gc.isenabled()
    gc.disable()
    try:
        run_mocked(lambda: None)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_failed_output_still_fails_the_run() -> None:
    """The outputs are awaited all at once now; one that fails must still fail the preview."""

    def program() -> None:
        pulumi.Output.from_input(1).apply(lambda _: 1 / 0)

    with pytest.raises(ZeroDivisionError):
        run_mocked(program)


RECORDS = """
import json, sys
from policies.preview.runner import preview_stack, speed_measures
from tests.conftest import run_mocked
from tests.policies.translate.programs.mixed import program

what = sys.argv[1]
result = run_mocked(program, stack="mixed") if what == "mixed" else preview_stack(what)
for r in result.resources:  # the SDK sends dependencies in set order (arbitrary between runs): compare them as sets
    r.dependencies = sorted(r.dependencies)
    r.property_dependencies = {k: sorted(v) for k, v in r.property_dependencies.items()}
print(json.dumps({
    "speed_measures": speed_measures(),
    "resources": sorted((r.to_json() for r in result.resources), key=lambda r: r["urn"]),
    "outputs": result.outputs,
    "unknown": sorted(json.dumps(u.__dict__, sort_keys=True) for u in result.unknown_inputs),
}, sort_keys=True, default=str))
"""


def _records(what: str, measures: str) -> dict:
    env = {**os.environ, SPEED_MEASURES_ENV: measures, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", RECORDS, what],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def _compare(what: str) -> None:
    fast, stock = _records(what, "1"), _records(what, "0")
    assert fast.pop("speed_measures") is True and stock.pop("speed_measures") is False
    assert fast["resources"], "the program registered nothing"
    assert [r["urn"] for r in fast["resources"]] == [r["urn"] for r in stock["resources"]]
    for with_measures, without in zip(fast["resources"], stock["resources"], strict=True):
        assert with_measures == without, with_measures["urn"]
    assert fast == stock


def test_speed_measures_record_what_stock_pulumi_records_for_a_small_program() -> None:
    """The mixed program (aws, azure-native with its type-version aliases, kubernetes) with and without them."""
    _compare("mixed")


@pytest.mark.slow
def test_speed_measures_record_what_stock_pulumi_records_for_a_shipped_stack() -> None:
    _compare("aws-uae-prod")


@pytest.mark.parametrize(("value", "on"), [(None, True), ("1", True), ("0", False), ("off", False), ("false", False)])
def test_the_switch(monkeypatch: pytest.MonkeyPatch, value: str | None, on: bool) -> None:
    if value is None:
        monkeypatch.delenv(SPEED_MEASURES_ENV, raising=False)
    else:
        monkeypatch.setenv(SPEED_MEASURES_ENV, value)
    assert speed_measures() is on

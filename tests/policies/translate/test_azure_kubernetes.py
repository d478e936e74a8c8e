"""azure-native -> ARM template, kubernetes -> manifests, and the coverage rows and context around them."""

from __future__ import annotations

from policies.preview.model import PreviewResource, PreviewResult
from policies.translate import translate


def _arm(stack, type_):
    return [r for r in stack.files["arm.json"]["resources"] if r["type"] == type_]


def test_storage_account_properties_nested_and_renamed(mixed):
    assert mixed.files["arm.json"]["$schema"].startswith("https://schema.management.azure.com/")
    (account,) = _arm(mixed, "Microsoft.Storage/storageAccounts")
    assert account == {
        "type": "Microsoft.Storage/storageAccounts",
        "apiVersion": "2024-01-01",
        "name": "stmlopsweak",
        "sku": {"name": "Standard_LRS"},
        "kind": "StorageV2",
        "location": "uaenorth",
        "tags": {"owner": "ml", "cost-center": "cc1", "data-classification": "internal"},
        "properties": {
            "networkAcls": {"defaultAction": "Allow"},
            "allowBlobPublicAccess": True,
            "supportsHttpsTrafficOnly": False,
            "minimumTlsVersion": "TLS1_0",
        },
    }
    assert ("arm.json", "Microsoft.Storage/storageAccounts.stmlopsweak") in mixed.origins


def test_agent_pool_is_a_child_resource(mixed):
    (pool,) = _arm(mixed, "Microsoft.ContainerService/managedClusters/agentPools")
    assert pool["name"] == "aks-mlops/gpu" and pool["apiVersion"] == "2025-09-01"
    assert pool["properties"]["enableEncryptionAtHost"] is True
    assert pool["properties"]["nodeTaints"] == ["nvidia.com/gpu=present:NoSchedule"]
    (cluster,) = _arm(mixed, "Microsoft.ContainerService/managedClusters")
    assert cluster["identity"] == {"type": "SystemAssigned"} and "resourceGroupName" not in cluster["properties"]


def test_diagnostic_settings_are_nested_under_the_resource_they_extend(mixed):
    queue = _arm(mixed, "Microsoft.Storage/storageAccounts/queueServices/providers/diagnosticsettings")
    blob = _arm(mixed, "Microsoft.Storage/storageAccounts/blobServices/providers/diagnosticsettings")
    assert [d["name"] for d in queue + blob] == ["stmlopsweak/default/Microsoft.Insights/to-law"] * 2
    assert queue[0]["properties"]["logs"] == [{"category": "StorageRead", "enabled": True}]
    assert "resourceUri" not in queue[0]["properties"] and list(mixed.files).count("arm.json") == 1


def test_deployment_manifest_and_origin(mixed):
    (name,) = [f for f in mixed.files if f.startswith("k8s/")]
    doc = mixed.files[name]
    assert name == "k8s/0001-deployment-web.yaml"
    assert doc["apiVersion"] == "apps/v1" and doc["kind"] == "Deployment" and doc["metadata"]["namespace"] == "apps"
    assert doc["spec"]["replicas"] == 2
    assert mixed.origins[(name, "Deployment.apps.web")].type == "kubernetes:apps/v1:Deployment"
    # Checkov reports the pod template as a resource of its own; it maps back to the same Deployment.
    assert mixed.origins[(name, "Pod.apps.web.app-web")] == mixed.origins[(name, "Deployment.apps.web")]


def test_helm_release_is_unscanned_under_its_exception_with_chart_and_version(mixed):
    (row,) = [c for c in mixed.coverage if c.type == "kubernetes:helm.sh/v3:Release"]
    assert row.status == "unscanned"
    assert row.detail.startswith("UNSCANNED gpu-operator v25.10.1 from https://helm.ngc.nvidia.com/nvidia: ")
    assert "unrendered.yaml: exceptions[0]" in row.detail and "expires 2027-03-31" in row.detail
    assert "pinned, reviewed" not in row.detail


def test_every_resource_has_a_coverage_row(mixed, mixed_preview):
    assert sorted(c.urn for c in mixed.coverage) == sorted(r.urn for r in mixed_preview.resources)
    assert len({o.urn for o in mixed.origins.values()}) == sum(c.status == "translated" for c in mixed.coverage)
    assert mixed.errors == []


def _result(*resources: PreviewResource, context: dict | None = None) -> PreviewResult:
    return PreviewResult(
        project="p", stack="s", source="stacks/Pulumi.s.yaml", resources=list(resources), context=context or {}
    )


def _res(type_: str, name: str = "x", custom: bool = True, **inputs) -> PreviewResource:
    return PreviewResource(urn=f"urn:pulumi:s::p::{type_}::{name}", type=type_, name=name, custom=custom, inputs=inputs)


def test_untranslatable_resource_of_a_checked_provider_is_an_error():
    stack = translate(
        _result(_res("aws:nosuch/thing:Thing"), _res("azure-native:nosuch:Thing"), _res("kubernetes:weird"))
    )
    assert [c.status for c in stack.coverage] == ["untranslatable"] * 3
    assert len(stack.errors) == 3 and "aws:nosuch/thing:Thing 'x'" in stack.errors[0]
    assert "stacks/Pulumi.s.yaml" in stack.errors[0]


def test_providers_components_and_other_packages_have_no_checks():
    stack = translate(
        _result(
            _res("pulumi:providers:aws", "default"),
            _res("mlops:aws:Storage", "c", custom=False),
            _res("random:index/randomPassword:RandomPassword", "pw"),
        )
    )
    assert {c.status for c in stack.coverage} == {"no-checks"} and not stack.errors and not stack.origins
    assert {c.detail for c in stack.coverage} >= {
        "provider configuration",
        "provider 'random' creates nothing with a security surface",
    }


def test_other_providers_are_errors_unless_allowed_unscanned():
    result = _result(_res("command:local:Command", "cmd"))
    stack = translate(result)
    assert [c.status for c in stack.coverage] == ["untranslatable"] and "--allow-unscanned command" in stack.errors[0]
    allowed = translate(result, allow_unscanned=["command"])
    assert [c.status for c in allowed.coverage] == ["unscanned"] and not allowed.errors


def test_context_file_from_stack_context_or_defaults():
    from components.gpu import GPU_TAINT

    given = translate(
        _result(
            _res("aws:s3/bucket:Bucket"),
            context={
                "target": "aws",
                "region": "eu-west-1",
                "allowed_regions": ["me-central-1"],
                "required_tags": ["owner"],
            },
        )
    )
    assert given.files["mlops-context.cfg"] == {
        "stack": "s",
        "target": "aws",
        "region": "eu-west-1",
        "allowed_regions": ["me-central-1"],
        "required_tags": ["owner"],
        "gpu_taint": GPU_TAINT,
        "team_namespaces": [],
        "karpenter_required": False,
        "training_queue": "ml-training",
        "torch_runtime": "torch-distributed",
        "kubernetes_inventory": {"objects": [], "charts": [], "kustomizations": []},
        "eks_addons": [],
        "deploy_identity": {"namespace": "kubeflow", "name": "pipeline-deployer"},
        "storage_inventory": {
            "s3_lifecycle": {},
            "azure_containers": {},
            "azure_management_policies": {},
            "minio_releases": {},
        },
        "detection_inventory": {
            "guardduty_detectors": [],
            "defender_pricings": [],
            "activity_log_settings": [],
            "falco_releases": [],
            "node_bootstrap": [],
        },
        "database_connections": {},
        "database_ca_bundles": {},
    }
    assert (
        given.files["tfplan.json"]["planned_values"]["root_module"]["resources"][0]["values"]["region"] == "eu-west-1"
    )
    default = translate(_result(_res("azure-native:storage:StorageAccount", accountName="st", location="uaenorth")))
    ctx = default.files["mlops-context.cfg"]
    assert (ctx["target"], ctx["region"], ctx["allowed_regions"]) == ("azure", "uaenorth", ["uaenorth"])
    assert ctx["required_tags"] == ["owner", "cost-center", "data-classification"]


def test_storage_inventory_lists_lifecycle_rules_by_bucket_account_and_namespace():
    """The expiry checks (CKV_MLOPS_381-383) read the rules of other resources from here."""
    rules = [{"id": "default", "status": "Enabled", "expiration": {"days": 365}}]
    policy_rules = [{"name": "datasets-lifecycle", "enabled": True}]
    result = _result(
        _res("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", bucket="b1", rules=rules),
        _res("azure-native:storage:BlobContainer", accountName="stdata", containerName="datasets"),
        _res("azure-native:storage:ManagementPolicy", accountName="stdata", policy={"rules": policy_rules}),
        _res(
            "kubernetes:helm.sh/v3:Release",
            "minio",
            chart="minio",
            version="5.4.0",
            repositoryOpts={"repo": "https://charts.min.io/"},
            namespace="object-store",
            values={
                "buckets": [{"name": "datasets"}],
                "customCommands": [{"command": "tag set myminio/datasets purpose=data"}],
            },
        ),
    )
    inventory = translate(result, allow_unscanned=["kubernetes"]).files["mlops-context.cfg"]["storage_inventory"]
    assert inventory == {
        "s3_lifecycle": {"b1": rules},
        "azure_containers": {"stdata": ["datasets"]},
        "azure_management_policies": {"stdata": policy_rules},
        "minio_releases": {
            "object-store": {"buckets": ["datasets"], "commands": ["tag set myminio/datasets purpose=data"]}
        },
    }


def test_detection_inventory_lists_guardduty_defender_activity_log_falco_and_the_node_bootstrap():
    """The detection checks (CKV_MLOPS_361-365) read settings of other resources than the one they report on."""
    import dataclasses
    import shlex

    def with_name(res: PreviewResource, name: str) -> PreviewResource:  # a `name` input (_res takes `name` itself)
        return dataclasses.replace(res, inputs={**res.inputs, "name": name})

    detector = _res("aws:guardduty/detector:Detector", "gd", enable=True)
    feature = dataclasses.replace(
        with_name(
            _res(
                "aws:guardduty/detectorFeature:DetectorFeature",
                "gd-rt",
                detectorId="gd-id",
                status="ENABLED",
                additionalConfigurations=[{"name": "EKS_ADDON_MANAGEMENT", "status": "ENABLED"}],
            ),
            "RUNTIME_MONITORING",
        ),
        property_dependencies={"detectorId": [detector.urn]},
    )
    orphan = with_name(
        _res("aws:guardduty/detectorFeature:DetectorFeature", "other", status="ENABLED"), "EKS_AUDIT_LOGS"
    )
    env = {
        "MLOPS_NODE_NAME": "ctl-1",
        "MLOPS_CONTROL_PLANE": "1",
        "MLOPS_APISERVER_AUTH_CONFIG": "kind: AuthenticationConfiguration\njwt: []",
        "MLOPS_APISERVER_AUDIT_POLICY": "not: [valid",
        "MLOPS_APISERVER_FLAGS": "--audit-log-path=/a --x=y",
    }
    create = "sudo -n env " + " ".join(shlex.quote(f"{k}={v}") for k, v in env.items()) + " bash s.sh"
    result = _result(
        detector,
        feature,
        orphan,
        _res(
            "azure-native:security:Pricing",
            pricingName="Containers",
            pricingTier="Standard",
            extensions=[{"name": "ContainerSensor", "isEnabled": "True"}],
        ),
        with_name(
            _res(
                "azure-native:monitor:SubscriptionDiagnosticSetting",
                "al",
                workspaceId="/ws",
                logs=[
                    {"category": "Administrative", "enabled": True},
                    {"category": "Alert", "enabled": False},
                    {"categoryGroup": "allLogs", "enabled": True},
                ],
            ),
            "al",
        ),
        _res(
            "kubernetes:helm.sh/v3:Release",
            "falco",
            chart="falco",
            version="6.2.5",
            namespace="falco",
            repositoryOpts={"repo": "https://falcosecurity.github.io/charts"},
            values={"driver": {"kind": "modern_ebpf"}},
        ),
        _res("command:remote:Command", "ctl-1-run", create=create),
    )
    inventory = translate(result, allow_unscanned=["kubernetes", "command"]).files["mlops-context.cfg"][
        "detection_inventory"
    ]
    assert inventory["guardduty_detectors"] == [
        {
            "enable": True,
            "features": [
                {
                    "name": "RUNTIME_MONITORING",
                    "status": "ENABLED",
                    "additional_configurations": [{"name": "EKS_ADDON_MANAGEMENT", "status": "ENABLED"}],
                }
            ],
        }
    ]
    assert inventory["defender_pricings"] == [
        {"name": "Containers", "tier": "Standard", "extensions": [{"name": "ContainerSensor", "is_enabled": "True"}]}
    ]
    assert inventory["activity_log_settings"] == [
        {"name": "al", "destination": True, "categories": ["Administrative"], "category_groups": ["allLogs"]}
    ]
    assert inventory["falco_releases"] == [
        {"namespace": "falco", "version": "6.2.5", "driver_enabled": True, "driver_kind": "modern_ebpf"}
    ]
    assert inventory["node_bootstrap"] == [
        {
            "node": "ctl-1",
            "control_plane": True,
            "authentication_config": {"kind": "AuthenticationConfiguration", "jwt": []},
            "audit_policy": None,
            "flags": ["--audit-log-path=/a", "--x=y"],
        }
    ]


def test_translation_imports_no_pulumi_sdk():
    """The gate and the policy pack environment have no provider SDKs: translation runs on data files only."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from policies.preview.model import PreviewResource, PreviewResult\n"
        "from policies.translate import translate\n"
        "r = PreviewResource(urn='urn:pulumi:s::p::aws:s3/bucket:Bucket::b', type='aws:s3/bucket:Bucket', name='b')\n"
        "assert translate(PreviewResult(project='p', stack='s', source='', resources=[r])).origins\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_aws', 'pulumi_azure_native', 'pulumi_kubernetes')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_unknown_values_are_left_out_but_still_referenced():
    from policies.preview.model import UNKNOWN

    bucket = PreviewResource(urn="urn:pulumi:s::p::aws:s3/bucket:Bucket::b", type="aws:s3/bucket:Bucket", name="b")
    versioning = PreviewResource(
        urn="urn:pulumi:s::p::aws:s3/bucketVersioning:BucketVersioning::b",
        type="aws:s3/bucketVersioning:BucketVersioning",
        name="b",
        inputs={"bucket": UNKNOWN, "versioningConfiguration": {"status": "Enabled"}},
        property_dependencies={"bucket": [bucket.urn]},
    )
    plan = translate(_result(bucket, versioning)).files["tfplan.json"]
    values = next(
        r["values"]
        for r in plan["planned_values"]["root_module"]["resources"]
        if r["name"] == "b" and "versioning" in r["type"]
    )
    assert "bucket" not in values and values["versioning_configuration"] == [{"status": "Enabled"}]
    config = next(r for r in plan["configuration"]["root_module"]["resources"] if "versioning" in r["type"])
    assert config["expressions"]["bucket"] == {"references": ["aws_s3_bucket.b.id", "aws_s3_bucket.b"]}


def test_unrendered_sources_without_an_exception_are_errors_naming_them():
    """Helm charts and remote kustomizations cannot be rendered offline: without a matching exception the gate stops
    (tests/policies/translate/test_k8s_rendering.py covers rendering and exceptions in detail)."""
    stack = translate(
        _result(
            _res("kubernetes:helm.sh/v4:Chart", "minio", chart="oci://registry/minio"),
            _res("kubernetes:kustomize/v2:Directory", "kfp", directory="github.com/kubeflow/pipelines?ref=2.4.0"),
        )
    )
    assert {c.status for c in stack.coverage} == {"untranslatable"} and len(stack.errors) == 2
    assert any("minio (no version pinned) from oci://registry" in e for e in stack.errors)
    assert any("remote kustomization github.com/kubeflow/pipelines?ref=2.4.0" in e for e in stack.errors)

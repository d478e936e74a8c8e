"""Translate a preview (Pulumi resources) into the files Checkov reads, and the way back from findings.

``aws:*`` -> ``tfplan.json`` (terraform_plan), ``azure-native:*`` -> ``arm.json`` (arm), ``kubernetes:*`` ->
``k8s/<n>-<kind>-<name>.yaml`` (kubernetes), plus ``mlops-context.cfg``: JSON with the stack's region, allowed
regions, required tags and the GPU taint, which the custom checks read from the scanned file's directory or its
parents (the ``.cfg`` extension keeps every Checkov framework from parsing it).

Every resource gets a coverage row. A resource of a provider Checkov has checks for that cannot be translated
is an error (the gate exits 2), never silently skipped. Kubernetes sources of many objects (ConfigGroup/ConfigFile,
kustomize Directory, Helm) are rendered and scanned where possible offline; what cannot be rendered needs an
unexpired exception (``policies/exceptions/unrendered.yaml``, row ``unscanned``) or is an error; ``*Patch`` resources
are scanned as partial objects (see :mod:`policies.translate.kubernetes`). Pure Python over generated data files: no provider SDK
is imported, so this runs fast and inside the policy pack's environment.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from policies.preview.model import UNKNOWN, PreviewResource, PreviewResult, component_of
from policies.translate import aws, azure, exceptions, kubernetes
from policies.translate.model import CoverageRow, Origin, TranslatedStack, UnknownValue

CONTEXT_FILE = "mlops-context.cfg"
TFPLAN_FILE = "tfplan.json"
ARM_FILE = "arm.json"
CHECKED_PACKAGES = ("aws", "azure-native", "kubernetes")
"""Providers Checkov has checks for: their resources must translate or the gate fails."""
NO_SECURITY_SURFACE = ("random",)
"""Provider packages whose resources create nothing reachable (random values held in the state): the only ones
that may be "no-checks" without a flag. Deliberately short: ``tls`` holds private keys, ``command`` runs arbitrary
commands, classic ``azure``/``aws-native``/``gcp`` create real infrastructure. Any other package's custom
resource is an error unless ``mlops gate --allow-unscanned PACKAGE`` names it."""

REVIEWED_COMMAND_SCRIPTS = ("components/services/rds_ca_fetch.sh",)
"""Scripts a ``command:local:Command`` may run inline without ``--allow-unscanned command``: reviewed, they only
print a public CA bundle (components/services/db_tls.py). Matched on the whole text, with ``bash -c`` and no input
but ``RDS_REGION`` (an ``RDS_CA_URL`` would point the fetch elsewhere)."""
_REVIEWED_INPUTS = frozenset({"create", "interpreter", "environment", "logging", "triggers"})


def reviewed_command(res: PreviewResource) -> bool:
    """Whether ``res`` is a local command that runs one of :data:`REVIEWED_COMMAND_SCRIPTS` exactly as reviewed."""
    from pathlib import Path

    if res.type != "command:local:Command" or not res.custom or not set(res.inputs) <= _REVIEWED_INPUTS:
        return False
    environment = res.inputs.get("environment") or {}
    if (
        res.inputs.get("interpreter") != ["/bin/bash", "-c"]
        or not isinstance(environment, dict)
        or set(environment) != {"RDS_REGION"}
    ):
        return False
    root = Path(__file__).resolve().parents[2]
    for script in REVIEWED_COMMAND_SCRIPTS:
        try:
            if res.inputs.get("create") == (root / script).read_text():
                return True
        except OSError:
            continue
    return False


__all__ = [
    "ARM_FILE",
    "CONTEXT_FILE",
    "TFPLAN_FILE",
    "effective_regions",
    "stack_context",
    "translate",
    "translate_all",
]


def translate_all(results: Iterable[PreviewResult], *, allow_unscanned: Iterable[str] = ()) -> list[TranslatedStack]:
    allowed = tuple(allow_unscanned)
    return [translate(r, allow_unscanned=allowed) for r in results]


def translate(
    result: PreviewResult, *, allow_unscanned: Iterable[str] = (), today: dt.date | None = None
) -> TranslatedStack:
    allowed = set(allow_unscanned)
    out = TranslatedStack(stack=result.stack, source=result.source)
    today = today or dt.date.today()
    try:
        entries = exceptions.load()
        exceptions_error = None
    except exceptions.ExceptionFileError as exc:
        entries, exceptions_error = [], str(exc)
    if exceptions_error:
        out.errors.append(
            f"{out.source or out.stack}: unrendered-source exceptions cannot be trusted: {exceptions_error}"
        )
    children: dict[str, int] = {}
    for res in result.resources:
        if res.parent:
            children[res.parent] = children.get(res.parent, 0) + 1
    index = result.by_urn()
    context = stack_context(result)
    regions = effective_regions(result)
    aws_rows: list[tuple[PreviewResource, str]] = []
    arm_docs: list[tuple[PreviewResource, dict[str, Any]]] = []
    k8s_docs: list[tuple[PreviewResource, dict[str, Any]]] = []

    for res in sorted(result.resources, key=lambda r: r.urn):
        if res.custom and res.package in CHECKED_PACKAGES:
            res = _resolve_unknowns(res, index, out)
        row = CoverageRow(urn=res.urn, type=res.type, package=res.package, status="no-checks")
        out.coverage.append(row)
        if res.type == "pulumi:pulumi:Stack":
            row.detail = "the stack itself"
        elif res.type in kubernetes.SOURCES:
            _source(out, row, res, result, children.get(res.urn, 0), entries, today, k8s_docs)
        elif not res.custom:
            row.detail = "component: gated through its children"
        elif res.type.startswith("pulumi:providers:"):
            row.detail = "provider configuration"
        elif res.package == "aws":
            type_ = aws.tf_type(res.type)
            if type_ is None:
                _untranslatable(out, row, res, "no such resource in the pulumi-aws SDK the gate was generated from")
            else:
                aws_rows.append((res, type_))
                _translated(row, "terraform_plan", type_)
        elif res.package == "azure-native":
            found = azure.arm_type(res.type)
            if found is None:
                why = (
                    "ARM type unknown: not in the reviewed table (policies/translate/azure.py ARM_TYPES) and the "
                    "SDK states no resource id path for it"
                    if res.type in azure.api_versions()
                    else "no such resource in the azure-native SDK the gate was generated from"
                )
                _untranslatable(out, row, res, why)
            else:
                spec, reviewed = found
                arm_docs.append((res, azure.resource(res, spec, location=regions.get(res.urn))))
                _translated(row, "arm", spec.type + ("" if reviewed else " (ARM type from the SDK's resource id path)"))
        elif res.package == "kubernetes":
            if kubernetes.is_patch(res.type) and kubernetes.api_version_kind(res.type) is not None:
                k8s_docs.append((res, kubernetes.manifest(res)))
                _translated(row, "kubernetes", "patch: only FAILED results on fields it sets count (partial object)")
            elif kubernetes.api_version_kind(res.type) is None:
                _untranslatable(out, row, res, "not a Kubernetes object type (group/version:Kind)")
            else:
                k8s_docs.append((res, kubernetes.manifest(res)))
                _translated(row, "kubernetes", "")
        elif res.package == "pulumi":
            row.detail = "Pulumi engine resource (stack reference, provider)"
        elif res.package in NO_SECURITY_SURFACE:
            row.detail = f"provider {res.package!r} creates nothing with a security surface"
        elif reviewed_command(res):
            row.detail = (
                "the reviewed RDS CA fetch (components/services/rds_ca_fetch.sh, byte for byte, only "
                "RDS_REGION set): downloads a public CA bundle, creates nothing"
            )
        elif res.package in allowed:
            row.status = "unscanned"
            row.detail = (
                f"the gate has no translation for provider {res.package!r}; --allow-unscanned {res.package} allowed it"
            )
        else:
            row.status = "untranslatable"
            row.detail = f"the gate has no translation for provider {res.package!r}"
            out.errors.append(
                f"{out.source or out.stack}: {res.type} {res.name!r} ({res.urn}) is not scanned: the gate has no "
                f"translation for provider {res.package!r}; pass --allow-unscanned {res.package} to accept that "
                "explicitly"
            )

    origin = _origin_factory(result, index)
    azure.link(arm_docs)
    if aws_rows:
        out.files[TFPLAN_FILE] = _terraform_plan(aws_rows, index, context, regions, out, origin)
    for n, docs in enumerate(_split_duplicates(arm_docs, azure.checkov_id), start=1):
        name = ARM_FILE if n == 1 else f"arm-{n}.json"
        out.files[name] = azure.template([doc for _, doc in docs])
        for res, doc in docs:
            out.origins[(name, azure.checkov_id(doc))] = origin(res)
    for n, (res, doc) in enumerate(k8s_docs, start=1):
        name = kubernetes.file_name(n, doc)
        out.files[name] = doc
        found = origin(res)
        if kubernetes.is_patch(res.type):
            found = dataclasses.replace(found, partial_keys=kubernetes.patch_keys(doc))
        for ident in kubernetes.checkov_ids(doc):
            out.origins[(name, ident)] = found
    out.files[CONTEXT_FILE] = context
    return out


def _source(
    out: TranslatedStack,
    row: CoverageRow,
    res: PreviewResource,
    result: PreviewResult,
    n_children: int,
    entries: list[exceptions.UnrenderedException],
    today: dt.date,
    k8s_docs: list[tuple[PreviewResource, dict[str, Any]]],
) -> None:
    """A chart, manifests or kustomization: render and scan its objects, or fail unless an exception allows it."""
    if n_children and res.type != "kubernetes:helm.sh/v3:Release":
        # Rendered already: v1 yaml/kustomize and the helm v3 Chart through an invoke the offline preview answers,
        # every source inside a real `pulumi preview` (the policy pack). Its objects are child resources, scanned
        # as such; rendering them again would scan them twice.
        row.detail = f"rendered by the preview: its {n_children} object(s) are scanned as child resources"
        return
    try:
        rendering = kubernetes.render(res, result.source)
    except kubernetes.RenderError as exc:
        allowed, detail = kubernetes.unrendered_verdict(res, str(exc), entries, today)
        if allowed:
            row.status, row.detail = "unscanned", detail
        else:
            _untranslatable(out, row, res, detail)
        return
    for doc in kubernetes.rendered_manifests(rendering.docs, res.name):
        k8s_docs.append((res, doc))
    _translated(row, "kubernetes", rendering.detail)


REFERENCE_KEY = re.compile(
    r"(^(id|ids|arn|arns|name|names|uri|url|endpoint)$|(Id|Ids|ID|IDs|Arn|Arns|ARN|Name|Names|Uri|"
    r"Uris|URI|Url|Urls|URL|Endpoint|Endpoints)$)"
)
"""Leaf input names that hold a reference to another resource (its id, ARN, name, address), not a setting."""


COMMAND_OUTPUT_TYPES = frozenset({"command:local:Command"})
"""Resources whose output is known only once ``pulumi up`` has run them (a real preview shows it unknown too)."""
CONFIG_MAP_TYPES = frozenset({"kubernetes:core/v1:ConfigMap"})
"""Objects whose ``data`` may be a command's output (the RDS CA bundle fetched at deploy time, db_tls.py)."""


def _command_output(res: PreviewResource, top: str, deps: list[str], index: dict[str, PreviewResource]) -> str | None:
    """The placeholder for a ConfigMap value that is a local command's output, or None for any other unknown.

    The value is data (a CA bundle), not a setting: its key is what the checks judge (which file a volume holds),
    and it exists as planned. Only when every resource the input depends on is such a command, and still in the
    preview (a dependency the gate cannot see stays an unknown setting)."""
    if res.type not in CONFIG_MAP_TYPES or top not in ("data", "binaryData") or not deps:
        return None
    commands = [index.get(urn) for urn in deps]
    if not all(c is not None and c.type in COMMAND_OUTPUT_TYPES for c in commands):
        return None
    return "${known after apply: stdout of " + ", ".join(sorted(c.name for c in commands if c)) + "}"


OWN_IDENTITY = frozenset({"id", "arn", "urn"})
"""Top-level inputs that name the resource itself (computed at creation): unknown is expected, not a setting."""


def _leaf_key(path: str) -> str:
    return re.sub(r"(\[\d+\])+$", "", path).rsplit(".", 1)[-1]


def _resolve_unknowns(res: PreviewResource, index: dict[str, PreviewResource], out: TranslatedStack) -> PreviewResource:
    """Unknown inputs: a reference (leaf key such as ``subnetId`` / ``roleArn`` whose top-level input depends on
    another resource) becomes ``${known after apply: <resource>}`` so existence checks see it set; any other unknown
    is recorded as a setting the checks cannot judge (the gate fails unless --allow-unknown) and left out."""
    found: list[UnknownValue] = []

    def walk(value: Any, path: str, top: str) -> Any:
        if isinstance(value, str) and value == UNKNOWN:
            deps = res.property_dependencies.get(top) or []
            if deps and REFERENCE_KEY.search(_leaf_key(path)):
                target = index.get(deps[0])
                text = f"${{known after apply: {target.name if target else deps[0].rsplit('::', 1)[-1]}}}"
                found.append(UnknownValue(res.urn, res.name, res.type, path, text))
                return text
            command_text = _command_output(res, top, deps, index)
            if command_text is not None:
                found.append(UnknownValue(res.urn, res.name, res.type, path, command_text))
                return command_text
            if path in OWN_IDENTITY or (res.package == "kubernetes" and path.split(".", 1)[0] == "status"):
                # the resource's own id / ARN, or a Kubernetes object's status: computed by the cloud / API server
                text = f"${{known after apply: {res.name}}}"
                found.append(UnknownValue(res.urn, res.name, res.type, path, text))
                return text
            found.append(UnknownValue(res.urn, res.name, res.type, path))
            return value
        if isinstance(value, dict):
            return {k: walk(v, f"{path}.{k}", top) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, f"{path}[{i}]", top) for i, v in enumerate(value)]
        return value

    inputs = {key: walk(value, key, key) for key, value in res.inputs.items()}
    if not found:
        return res
    out.unknown.extend(found)
    return dataclasses.replace(res, inputs=inputs)


def _translated(row: CoverageRow, framework: Any, detail: str) -> None:
    row.status, row.framework, row.detail = "translated", framework, detail


def _untranslatable(out: TranslatedStack, row: CoverageRow, res: PreviewResource, why: str) -> None:
    row.status, row.detail = "untranslatable", why
    out.errors.append(
        f"{out.source or out.stack}: {res.type} {res.name!r} ({res.urn}) cannot be translated for Checkov: {why}"
    )


def _origin_factory(result: PreviewResult, index: dict[str, PreviewResource]) -> Any:
    def origin(res: PreviewResource) -> Origin:
        comp = component_of(res, index)
        return Origin(
            stack=result.stack,
            stack_file=result.source,
            urn=res.urn,
            name=res.name,
            type=res.type,
            component=f"{comp.type} {comp.name}" if comp else None,
        )

    return origin


def _terraform_plan(
    rows: list[tuple[PreviewResource, str]],
    index: dict[str, PreviewResource],
    context: dict[str, Any],
    regions: dict[str, str | None],
    out: TranslatedStack,
    origin: Any,
) -> dict[str, Any]:
    taken: set[str] = set()
    named: list[tuple[PreviewResource, str, str]] = []
    addresses: dict[str, str] = {}
    for res, type_ in rows:
        base = aws.address_name(res.name)
        name, n = base, 1
        while f"{type_}.{name}" in taken:  # same Pulumi name twice (different parents): stable by URN order
            n += 1
            name = f"{base}_{n}"
        taken.add(f"{type_}.{name}")
        named.append((res, type_, name))
        addresses[res.urn] = f"{type_}.{name}"
    values: dict[str, dict[str, Any]] = {}
    for res, _type, _name in named:
        converted = aws.convert(res.inputs, aws._props(res.type))
        # The resolved region; for a resource that resolves none, the stack's own (mlops:region) as before.
        region = regions.get(res.urn) or (context.get("region") if context.get("target") == "aws" else None)
        if region and "region" not in converted:
            converted["region"] = region
        values[res.urn] = converted
    exprs = {res.urn: aws.expressions(res, values[res.urn], addresses, index) for res, _t, _n in named}
    for res, _type, _name in named:
        out.origins[(TFPLAN_FILE, addresses[res.urn])] = origin(res)
    return aws.plan(named, values, exprs)


def _split_duplicates(
    docs: list[tuple[PreviewResource, dict[str, Any]]], key: Any
) -> list[list[tuple[PreviewResource, dict[str, Any]]]]:
    """Group into templates so that no Checkov resource id repeats within one file (same name, two groups)."""
    files: list[list[tuple[PreviewResource, dict[str, Any]]]] = []
    seen: list[set[str]] = []
    for item in docs:
        ident = key(item[1])
        for i, ids in enumerate(seen):
            if ident not in ids:
                ids.add(ident)
                files[i].append(item)
                break
        else:
            seen.append({ident})
            files.append([item])
    return files


def stack_context(result: PreviewResult) -> dict[str, Any]:
    """The facts custom checks need: from ``result.context`` (the gate fills it from the stack config), else the
    platform defaults (``policies.organisation``), with target and region inferred from the resources.

    Allowed regions: the organisation policy's list for the target (``policies/residency.yaml``), narrowed to the
    stack's own ``allowed_regions`` when it gives some: a stack can never widen it (the intersection; a stack whose
    list has nothing in common with the policy allows nothing, so every regional resource fails)."""
    from components.gpu import GPU_TAINT, TORCH_RUNTIME, TRAINING_QUEUE
    from components.identities import DEPLOYER_SERVICE_ACCOUNT
    from components.identities import PIPELINES_NAMESPACE as PIPELINES_NS
    from policies.organisation import REQUIRED_TAGS, organisation_regions

    given = dict(result.context or {})
    target = given.get("target") or _infer_target(result)
    region = given.get("region") or _infer_region(result)
    organisation = list(organisation_regions().get(target, ())) if target else []
    stack_list = given.get("allowed_regions")
    if stack_list:
        own = {str(r).replace(" ", "").lower() for r in stack_list}
        allowed = [r for r in organisation if r.replace(" ", "").lower() in own]
    else:
        allowed = organisation
    return {
        "stack": result.stack,
        "target": target,
        "region": region,
        "allowed_regions": list(allowed),
        "required_tags": list(given.get("required_tags") or REQUIRED_TAGS),
        "gpu_taint": dict(given.get("gpu_taint") or GPU_TAINT),
        "team_namespaces": list(given.get("team_namespaces") or []),
        "karpenter_required": bool(given.get("karpenter_required", False)),
        "training_queue": TRAINING_QUEUE,
        "deploy_identity": {"namespace": PIPELINES_NS, "name": DEPLOYER_SERVICE_ACCOUNT},
        "torch_runtime": TORCH_RUNTIME,
        "kubernetes_inventory": kubernetes_inventory(result),
        "eks_addons": eks_addons(result),
        "storage_inventory": storage_inventory(result),
        "database_connections": database_connections(result),
        "database_ca_bundles": database_ca_bundles(result),
        "detection_inventory": detection_inventory(result),
    }


CONNECTION_TLS_ANNOTATION = "mlops.platform/connection-tls"
"""On a Secret holding a database/cache client configuration (Feast's ``feature_store.yaml``): the TLS settings of
its connections as JSON (``components.services.feature_store_config.TLS_ANNOTATION``; the file is a Pulumi secret)."""
FEAST_CONFIG_SECRET = "feast-feature-store"
CA_BUNDLE_LABEL = "mlops.platform/ca-bundle"


def _metadata(res: PreviewResource) -> dict[str, Any]:
    metadata = res.inputs.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def database_connections(result: PreviewResult) -> dict[str, Any]:
    """``<namespace>/<secret>`` -> the TLS settings of the database clients configured by that Secret (parsed from
    its connection-tls annotation; ``None`` when the annotation is missing or not JSON), for every Secret named
    ``feast-feature-store`` or carrying the annotation: what a workload mounting it must verify with."""
    import json

    found: dict[str, Any] = {}
    for res in result.resources:
        if not (res.custom and res.type == "kubernetes:core/v1:Secret"):
            continue
        metadata = _metadata(res)
        annotations = metadata.get("annotations") if isinstance(metadata.get("annotations"), dict) else {}
        if metadata.get("name") != FEAST_CONFIG_SECRET and CONNECTION_TLS_ANNOTATION not in annotations:
            continue
        try:
            tls = json.loads(annotations[CONNECTION_TLS_ANNOTATION])
        except (KeyError, TypeError, ValueError):
            tls = None
        found[f"{metadata.get('namespace')}/{metadata.get('name')}"] = tls if isinstance(tls, dict) else None
    return found


def database_ca_bundles(result: PreviewResult) -> dict[str, Any]:
    """``<namespace>/<configmap>`` -> ``{"keys": [...], "from_command": [...]}`` for the ConfigMaps labelled
    ``mlops.platform/ca-bundle``: which CA files a pod mounting them gets (``from_command``: keys whose content a
    local command prints at ``pulumi up``, e.g. the RDS bundle)."""
    found: dict[str, Any] = {}
    for res in result.resources:
        if not (res.custom and res.type in CONFIG_MAP_TYPES):
            continue
        metadata = _metadata(res)
        labels = metadata.get("labels") if isinstance(metadata.get("labels"), dict) else {}
        if CA_BUNDLE_LABEL not in labels:
            continue
        data = res.inputs.get("data") if isinstance(res.inputs.get("data"), dict) else {}
        from_command = bool(res.property_dependencies.get("data")) and any(value == UNKNOWN for value in data.values())
        found[f"{metadata.get('namespace')}/{metadata.get('name')}"] = {
            "keys": sorted(str(k) for k in data),
            "from_command": sorted(str(k) for k, v in data.items() if from_command and v == UNKNOWN),
        }
    return found


GUARDDUTY_DETECTOR = "aws:guardduty/detector:Detector"
GUARDDUTY_FEATURE = "aws:guardduty/detectorFeature:DetectorFeature"
DEFENDER_PRICING = "azure-native:security:Pricing"
SUBSCRIPTION_DIAGNOSTIC_SETTING = "azure-native:monitor:SubscriptionDiagnosticSetting"
REMOTE_COMMAND = "command:remote:Command"


def detection_inventory(result: PreviewResult) -> dict[str, Any]:
    """Threat detection and audit settings stack-wide, for checks on the cluster that ask whether they exist (they
    live on other resources than the one checked): GuardDuty detectors with their features (linked through the
    feature's ``detectorId`` dependency), Defender plans, subscription Activity Log settings, Falco releases, and
    what the on-prem node bootstrap (pulumi-command, not otherwise translated) gives each node's kube-apiserver."""
    features: dict[str, list[dict[str, Any]]] = {}
    for res in result.resources:
        if res.custom and res.type == GUARDDUTY_FEATURE:
            inputs = res.inputs
            entry = {
                "name": str(inputs.get("name") or ""),
                "status": str(inputs.get("status") or ""),
                "additional_configurations": [
                    {"name": str(c.get("name") or ""), "status": str(c.get("status") or "")}
                    for c in inputs.get("additionalConfigurations") or []
                    if isinstance(c, dict)
                ],
            }
            for detector in res.property_dependencies.get("detectorId") or ["<unlinked>"]:
                features.setdefault(detector, []).append(entry)
    detectors, pricings, activity, falco, apiserver = [], [], [], [], []
    for res in result.resources:
        inputs = res.inputs
        if res.custom and res.type == GUARDDUTY_DETECTOR:
            detectors.append({"enable": inputs.get("enable", True) is not False, "features": features.get(res.urn, [])})
        elif res.custom and res.type == DEFENDER_PRICING:
            pricings.append(
                {
                    "name": str(inputs.get("pricingName") or ""),
                    "tier": str(inputs.get("pricingTier") or ""),
                    "extensions": [
                        {"name": str(e.get("name") or ""), "is_enabled": str(e.get("isEnabled") or "")}
                        for e in inputs.get("extensions") or []
                        if isinstance(e, dict)
                    ],
                }
            )
        elif res.custom and res.type == SUBSCRIPTION_DIAGNOSTIC_SETTING:
            destination = any(
                isinstance(inputs.get(k), str) and inputs[k]
                for k in ("workspaceId", "storageAccountId", "eventHubAuthorizationRuleId")
            )
            logs = [
                entry for entry in inputs.get("logs") or [] if isinstance(entry, dict) and entry.get("enabled") is True
            ]
            activity.append(
                {
                    "name": str(inputs.get("name") or res.name),
                    "destination": destination,
                    "categories": sorted(str(e["category"]) for e in logs if e.get("category")),
                    "category_groups": sorted(str(e["categoryGroup"]) for e in logs if e.get("categoryGroup")),
                }
            )
        elif res.type in kubernetes.HELM_TYPES and exceptions.source_of_helm(inputs).chart == "falco":
            values = inputs.get("values") if isinstance(inputs.get("values"), dict) else {}
            driver = values.get("driver") if isinstance(values.get("driver"), dict) else {}
            falco.append(
                {
                    "namespace": str(inputs.get("namespace") or ""),
                    "version": str(inputs.get("version") or ""),
                    "driver_enabled": driver.get("enabled", True) is not False,
                    "driver_kind": str(driver.get("kind") or ""),
                }
            )
        elif res.custom and res.type == REMOTE_COMMAND:
            apiserver.append(_bootstrap_apiserver(res))
    return {
        "guardduty_detectors": detectors,
        "defender_pricings": pricings,
        "activity_log_settings": activity,
        "falco_releases": falco,
        "node_bootstrap": apiserver,
    }


def _bootstrap_apiserver(res: PreviewResource) -> dict[str, Any]:
    """What the node bootstrap's command line (``sudo -n env K=V ... bash SCRIPT``, components/bootstrap/render.py)
    sets up on a node's kube-apiserver: parsed documents, or ``None`` where a value is absent or not YAML."""
    import shlex

    import yaml

    env: dict[str, str] = {}
    create = res.inputs.get("create")
    try:
        words = shlex.split(create) if isinstance(create, str) else []
    except ValueError:
        words = []
    if "env" in words:
        for word in words[words.index("env") + 1 :]:
            if "=" not in word:
                break
            key, _, value = word.partition("=")
            env[key] = value

    def document(key: str) -> Any:
        try:
            doc = yaml.safe_load(env[key]) if key in env else None
        except yaml.YAMLError:
            return None
        return doc if isinstance(doc, dict) else None

    return {
        "node": env.get("MLOPS_NODE_NAME") or res.name,
        "control_plane": env.get("MLOPS_CONTROL_PLANE") == "1",
        "authentication_config": document("MLOPS_APISERVER_AUTH_CONFIG"),
        "audit_policy": document("MLOPS_APISERVER_AUDIT_POLICY"),
        "flags": env.get("MLOPS_APISERVER_FLAGS", "").split(),
    }


def storage_inventory(result: PreviewResult) -> dict[str, Any]:
    """Object-store lifecycle settings stack-wide, for checks on a bucket/account/namespace that ask whether its
    objects expire (the rules live on other resources than the one the check sees): S3 lifecycle configurations by
    bucket name, Azure containers and management policies by account name, and the ``mc`` commands and buckets of
    MinIO Helm releases by namespace. Inputs as the preview plans them (camelCase)."""
    s3: dict[str, Any] = {}
    containers: dict[str, list[str]] = {}
    policies: dict[str, Any] = {}
    minio: dict[str, Any] = {}
    for res in result.resources:
        inputs = res.inputs
        if res.type == "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration":
            s3[str(inputs.get("bucket"))] = inputs.get("rules") or []
        elif res.type == "azure-native:storage:BlobContainer":
            containers.setdefault(str(inputs.get("accountName")), []).append(str(inputs.get("containerName")))
        elif res.type == "azure-native:storage:ManagementPolicy":
            policies[str(inputs.get("accountName"))] = (inputs.get("policy") or {}).get("rules") or []
        elif res.type in kubernetes.HELM_TYPES and exceptions.source_of_helm(inputs).chart == "minio":
            values = inputs.get("values") if isinstance(inputs.get("values"), dict) else {}
            minio[str(inputs.get("namespace"))] = {
                "buckets": [b.get("name") for b in values.get("buckets") or [] if isinstance(b, dict)],
                "commands": [c.get("command") for c in values.get("customCommands") or [] if isinstance(c, dict)],
            }
    return {
        "s3_lifecycle": s3,
        "azure_containers": containers,
        "azure_management_policies": policies,
        "minio_releases": minio,
    }


EKS_ADDON_TYPE = "aws:eks/addon:Addon"


def eks_addons(result: PreviewResult) -> list[dict[str, str]]:
    """The EKS managed add-ons the preview plans (name and configuration values as planned): whether the cluster
    enforces NetworkPolicy is a setting of the ``vpc-cni`` add-on, a resource apart from the cluster."""
    return [
        {
            "addon_name": str(r.inputs.get("addonName") or ""),
            "configuration_values": str(r.inputs.get("configurationValues") or ""),
        }
        for r in result.resources
        if r.custom and r.type == EKS_ADDON_TYPE
    ]


INVENTORY_KINDS = frozenset(
    {
        "ResourceQuota",
        "LimitRange",
        "ClusterQueue",
        "LocalQueue",
        "ResourceFlavor",
        "ClusterTrainingRuntime",
        "NodePool",
        "EC2NodeClass",
        "PeerAuthentication",
        "RequestAuthentication",
        "AuthorizationPolicy",
        "NetworkPolicy",
        "Installation",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "RoleBinding",
        "ClusterRoleBinding",
    }
)
"""Kubernetes kinds whose presence (not just their settings) the custom checks judge: Checkov shows a check one
object at a time, so the translator lists these stack-wide in the context."""


def kubernetes_inventory(result: PreviewResult) -> dict[str, Any]:
    """What the preview plans in the cluster, for checks that ask whether something exists: the objects of
    :data:`INVENTORY_KINDS` (apiVersion, kind, name, namespace, spec), the Helm charts of Release/Chart resources and
    the targets of kustomize Directories. Objects that a chart or remote kustomization installs at deploy time are
    not in a preview and so not here; only the source (chart name, kustomization URL) is."""
    objects: list[dict[str, Any]] = []
    charts: list[str] = []
    kustomizations: list[str] = []
    for res in result.resources:
        if res.type in kubernetes.HELM_TYPES:  # sources may register as components (no `custom` flag)
            charts.append(exceptions.source_of_helm(res.inputs).chart)
            continue
        if res.type in kubernetes.KUSTOMIZE_TYPES:
            kustomizations.append(str(res.inputs.get("directory") or ""))
            continue
        if not res.custom or res.package != "kubernetes":
            continue
        found = kubernetes.api_version_kind(res.type)
        if found is None or found[1] not in INVENTORY_KINDS or kubernetes.is_patch(res.type):
            continue
        metadata = res.inputs.get("metadata") if isinstance(res.inputs.get("metadata"), dict) else {}
        objects.append(
            {
                "apiVersion": found[0],
                "kind": found[1],
                "name": metadata.get("name"),
                "namespace": metadata.get("namespace"),
                "spec": res.inputs.get("spec") or {},
                **{k: res.inputs[k] for k in ("roleRef", "subjects") if k in res.inputs},
            }
        )
    return {"objects": objects, "charts": sorted(charts), "kustomizations": sorted(kustomizations)}


def _infer_target(result: PreviewResult) -> str | None:
    """The cloud a program without a project stack config deploys to, from its resources; ``None`` for a program
    of Kubernetes resources only: it deploys onto a cluster it does not describe, so the checks that hold a target
    to its own rules (the on-prem network engine, CKV_MLOPS_305) abstain rather than guess."""
    packages = {r.package for r in result.resources if r.custom}
    return "aws" if "aws" in packages else "azure" if "azure-native" in packages else None


REGION_INPUT = {"aws": "region", "azure-native": "location"}
"""Per package: the resource input, and the provider configuration key, that says where a resource is created."""


def effective_regions(result: PreviewResult) -> dict[str, str | None]:
    """URN -> where each ``aws``/``azure-native`` resource is created: its own ``region``/``location`` input, else
    its explicit provider's configuration (``provider`` is ``<provider urn>::<id>``; the provider is a
    ``pulumi:providers:<package>`` resource of the preview), else the default provider's configuration
    (``result.provider_defaults``, from the stack config's ``aws:region`` / ``azure-native:location``)."""
    index = result.by_urn()
    out: dict[str, str | None] = {}
    for res in result.resources:
        key = REGION_INPUT.get(res.package)
        if key is None or not res.custom or res.type.startswith("pulumi:providers:"):
            continue
        own = res.inputs.get(key)
        if _known(own):
            out[res.urn] = own
            continue
        provider = index.get((res.provider or "").rsplit("::", 1)[0]) if res.provider else None
        if provider is not None and provider.type == f"pulumi:providers:{res.package}":
            configured = provider.inputs.get(key)
            out[res.urn] = configured if _known(configured) else None
            continue
        default = (result.provider_defaults or {}).get(res.package, {}).get(key)
        out[res.urn] = default if _known(default) else None
    return out


def _known(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and value != UNKNOWN


def _infer_region(result: PreviewResult) -> str | None:
    regions = effective_regions(result)
    for res in result.resources:
        if res.package == "aws" and regions.get(res.urn):
            return regions[res.urn]
        if res.package == "aws" and isinstance(res.outputs.get("arn"), str) and res.outputs["arn"].count(":") >= 5:
            region = res.outputs["arn"].split(":")[3]
            if region:
                return region
        if res.package == "azure-native" and regions.get(res.urn):
            return regions[res.urn]
    return None

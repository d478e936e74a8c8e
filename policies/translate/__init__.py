"""Translate a preview (Pulumi resources) into the files Checkov reads, and the way back from findings.

``aws:*`` -> ``tfplan.json`` (terraform_plan), ``azure-native:*`` -> ``arm.json`` (arm), ``kubernetes:*`` ->
``k8s/<n>-<kind>-<name>.yaml`` (kubernetes), plus ``mlops-context.cfg``: JSON with the stack's region, allowed
regions, required tags and the GPU taint, which the custom checks read from the scanned file's directory or its
parents (the ``.cfg`` extension keeps every Checkov framework from parsing it).

Every resource gets a coverage row. A resource of a provider Checkov has checks for that cannot be translated
is an error (the gate exits 2), never silently skipped. Pure Python over generated data files: no provider SDK
is imported, so this runs fast and inside the policy pack's environment.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any

from infra.preview.model import UNKNOWN, PreviewResource, PreviewResult, component_of
from policies.translate import aws, azure, kubernetes
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

__all__ = ["translate", "translate_all", "stack_context", "CONTEXT_FILE", "TFPLAN_FILE", "ARM_FILE"]


def translate_all(results: Iterable[PreviewResult], *, allow_unscanned: Iterable[str] = ()) -> list[TranslatedStack]:
    allowed = tuple(allow_unscanned)
    return [translate(r, allow_unscanned=allowed) for r in results]


def translate(result: PreviewResult, *, allow_unscanned: Iterable[str] = ()) -> TranslatedStack:
    allowed = set(allow_unscanned)
    out = TranslatedStack(stack=result.stack, source=result.source)
    index = result.by_urn()
    context = stack_context(result)
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
                _untranslatable(out, row, res, "no such resource in the azure-native SDK the gate was generated from")
            else:
                spec, reviewed = found
                arm_docs.append((res, azure.resource(res, spec)))
                _translated(row, "arm", spec.type + ("" if reviewed else " (ARM type by naming rule)"))
        elif res.package == "kubernetes":
            if res.type in kubernetes.NOT_RENDERED:
                row.status, row.detail = "not-rendered", kubernetes.not_rendered_detail(res)
            elif kubernetes.is_patch(res.type):
                row.detail = "patch of an existing object: partial fields only, checked where the object is defined"
            elif kubernetes.api_version_kind(res.type) is None:
                _untranslatable(out, row, res, "not a Kubernetes object type (group/version:Kind)")
            else:
                k8s_docs.append((res, kubernetes.manifest(res)))
                _translated(row, "kubernetes", "")
        elif res.package == "pulumi":
            row.detail = "Pulumi engine resource (stack reference, provider)"
        elif res.package in NO_SECURITY_SURFACE:
            row.detail = f"provider {res.package!r} creates nothing with a security surface"
        elif res.package in allowed:
            row.status = "unscanned"
            row.detail = f"the gate has no translation for provider {res.package!r}; --allow-unscanned {res.package} allowed it"
        else:
            row.status = "untranslatable"
            row.detail = f"the gate has no translation for provider {res.package!r}"
            out.errors.append(
                f"{out.source or out.stack}: {res.type} {res.name!r} ({res.urn}) is not scanned: the gate has no "
                f"translation for provider {res.package!r}; pass --allow-unscanned {res.package} to accept that "
                "explicitly"
            )

    origin = _origin_factory(result, index)
    if aws_rows:
        out.files[TFPLAN_FILE] = _terraform_plan(aws_rows, index, context, out, origin)
    for n, docs in enumerate(_split_duplicates(arm_docs, azure.checkov_id), start=1):
        name = ARM_FILE if n == 1 else f"arm-{n}.json"
        out.files[name] = azure.template([doc for _, doc in docs])
        for res, doc in docs:
            out.origins[(name, azure.checkov_id(doc))] = origin(res)
    for n, (res, doc) in enumerate(k8s_docs, start=1):
        name = kubernetes.file_name(n, doc)
        out.files[name] = doc
        for ident in kubernetes.checkov_ids(doc):
            out.origins[(name, ident)] = origin(res)
    out.files[CONTEXT_FILE] = context
    return out


REFERENCE_KEY = re.compile(r"(^(id|ids|arn|arns|name|names|uri|url|endpoint)$|(Id|Ids|ID|IDs|Arn|Arns|ARN|Name|Names|Uri|"
                           r"Uris|URI|Url|Urls|URL|Endpoint|Endpoints)$)")
"""Leaf input names that hold a reference to another resource (its id, ARN, name, address), not a setting."""


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
    out.errors.append(f"{out.source or out.stack}: {res.type} {res.name!r} ({res.urn}) cannot be translated for Checkov: {why}")


def _origin_factory(result: PreviewResult, index: dict[str, PreviewResource]) -> Any:
    def origin(res: PreviewResource) -> Origin:
        comp = component_of(res, index)
        return Origin(
            stack=result.stack, stack_file=result.source, urn=res.urn, name=res.name, type=res.type,
            component=f"{comp.type} {comp.name}" if comp else None,
        )

    return origin


def _terraform_plan(rows: list[tuple[PreviewResource, str]], index: dict[str, PreviewResource],
                    context: dict[str, Any], out: TranslatedStack, origin: Any) -> dict[str, Any]:
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
        if context.get("target") == "aws" and context.get("region") and "region" not in converted:
            converted["region"] = context["region"]
        values[res.urn] = converted
    exprs = {res.urn: aws.expressions(res, values[res.urn], addresses, index) for res, _t, _n in named}
    for res, _type, _name in named:
        out.origins[(TFPLAN_FILE, addresses[res.urn])] = origin(res)
    return aws.plan(named, values, exprs)


def _split_duplicates(docs: list[tuple[PreviewResource, dict[str, Any]]], key: Any) -> list[list[tuple[PreviewResource, dict[str, Any]]]]:
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
    platform defaults (``infra.config``), with target and region inferred from the resources."""
    from components.gpu import GPU_TAINT
    from infra.config import DEFAULT_ALLOWED_REGIONS, REQUIRED_TAGS

    given = dict(result.context or {})
    target = given.get("target") or _infer_target(result)
    region = given.get("region") or _infer_region(result)
    allowed = given.get("allowed_regions") or list(DEFAULT_ALLOWED_REGIONS.get(target, ()))
    return {
        "stack": result.stack,
        "target": target,
        "region": region,
        "allowed_regions": list(allowed),
        "required_tags": list(given.get("required_tags") or REQUIRED_TAGS),
        "gpu_taint": dict(given.get("gpu_taint") or GPU_TAINT),
    }


def _infer_target(result: PreviewResult) -> str:
    packages = {r.package for r in result.resources if r.custom}
    return "aws" if "aws" in packages else "azure" if "azure-native" in packages else "onprem"


def _infer_region(result: PreviewResult) -> str | None:
    for res in result.resources:
        if res.package == "aws" and isinstance(res.inputs.get("region"), str):
            return res.inputs["region"]
        if res.package == "aws" and isinstance(res.outputs.get("arn"), str) and res.outputs["arn"].count(":") >= 5:
            region = res.outputs["arn"].split(":")[3]
            if region:
                return region
        if res.package == "azure-native" and isinstance(res.inputs.get("location"), str):
            return res.inputs["location"]
    return None

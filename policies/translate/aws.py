"""``aws:*`` resources -> one Terraform plan JSON (Checkov's ``terraform_plan`` framework).

Names come from ``aws_schema.json`` (generated from the pulumi-aws SDK): Terraform type per token, Terraform
attribute and block names, which blocks Pulumi flattened to objects (back to one-element lists) and which inputs
are JSON documents (back to JSON text). Cross-resource checks link resources only through
``configuration.root_module.resources[].expressions.<attr>.references``; those are rebuilt from the preview's
property dependencies, pinned to the exact (nested) attribute whose value equals an output of the referenced
resource.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from policies.preview.model import UNKNOWN, PreviewResource

PROVIDER_NAME = "registry.terraform.io/hashicorp/aws"
TERRAFORM_VERSION = "1.9.8"
# Outputs a reference most often means, in order: ``bucket = aws_s3_bucket.x.id`` and so on.
_REFERENCE_ATTRIBUTES = ("id", "arn", "name", "bucket", "keyId", "url")


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    return json.loads(Path(__file__).with_name("aws_schema.json").read_text())


def camel_to_snake(name: str) -> str:
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def tf_type(token: str) -> str | None:
    """Terraform type of a pulumi-aws token, or None when the installed SDK has no such resource."""
    entry = schema()["resources"].get(token)
    if entry is None:
        return None
    if "alias" in entry:
        entry = schema()["resources"][entry["alias"]]
    return entry["tf"]


def _props(token: str) -> dict[str, Any]:
    entry = schema()["resources"].get(token) or {}
    if "alias" in entry:
        entry = schema()["resources"][entry["alias"]]
    return entry.get("p", {})


def convert(value: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    """Pulumi inputs (camelCase, flattened one-item blocks) -> Terraform values (snake_case, blocks as lists)."""
    classes = schema()["classes"]
    out: dict[str, Any] = {}
    for key, item in value.items():
        if item is None or item == UNKNOWN:
            continue  # unknown before apply: a plan leaves it out of the values
        spec = props.get(key)
        if spec is None:
            out[camel_to_snake(key)] = item
        elif isinstance(spec, str):
            out[spec] = item
        else:
            name, kind, ref = spec
            if kind == "J":
                out[name] = item if isinstance(item, str) else json.dumps(item)
                continue
            nested = classes.get(ref, {}) if ref else {}
            items = item if isinstance(item, list) else [item]
            out[name] = [convert(i, nested) if isinstance(i, dict) else i for i in items]
    return out


def _find_value(values: Any, wanted: set[str], path: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
    """Path of the first string in ``values`` equal to one of ``wanted``; lists of strings count as a hit."""
    if isinstance(values, str):
        return path if values in wanted else None
    if isinstance(values, dict):
        for k, v in values.items():
            found = _find_value(v, wanted, (*path, k))
            if found is not None:
                return found
    if isinstance(values, list):
        if values and all(isinstance(v, str) for v in values):
            return path if any(v in wanted for v in values) else None
        for i, v in enumerate(values):
            found = _find_value(v, wanted, (*path, i))
            if found is not None:
                return found
    return None


def _reference_attribute(target: PreviewResource, text_values: set[str]) -> str:
    for attr in _REFERENCE_ATTRIBUTES:
        if target.outputs.get(attr) in text_values:
            return camel_to_snake(attr)
    return "id"


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return {s for v in value.values() for s in _strings(v)}
    if isinstance(value, list):
        return {s for v in value for s in _strings(v)}
    return set()


def _set_path(expressions: dict[str, Any], path: tuple[Any, ...], refs: list[str]) -> None:
    """Write ``{"references": refs}`` at ``path`` in the expressions tree, mirroring the values' shape."""
    node: Any = expressions
    for i, step in enumerate(path[:-1]):
        following = path[i + 1]
        if isinstance(step, int):
            while len(node) <= step:
                node.append({})
            node = node[step]
        else:
            node = node.setdefault(step, [] if isinstance(following, int) else {})
    last = path[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append({})
        node[last] = {"references": refs}
    elif isinstance(node, dict):
        existing = node.get(last)
        if isinstance(existing, dict) and "references" in existing:
            existing["references"] = existing["references"] + [r for r in refs if r not in existing["references"]]
        else:
            node[last] = {"references": refs}


def expressions(
    resource: PreviewResource, values: dict[str, Any], addresses: dict[str, str], index: dict[str, PreviewResource]
) -> dict[str, Any]:
    """``configuration`` expressions: a reference for every input that depends on another translated resource."""
    props = _props(resource.type)
    out: dict[str, Any] = {}
    for key, urns in sorted(resource.property_dependencies.items()):
        spec = props.get(key)
        tf_key = camel_to_snake(key) if spec is None else spec if isinstance(spec, str) else spec[0]
        for urn in urns:
            address = addresses.get(urn)
            target = index.get(urn)
            if address is None or target is None:
                continue
            wanted = {v for v in (target.outputs.get(a) for a in _REFERENCE_ATTRIBUTES) if isinstance(v, str) and v}
            sub = _find_value(values.get(tf_key), wanted) if tf_key in values and wanted else None
            attribute = _reference_attribute(target, _strings(values.get(tf_key)))
            refs = [f"{address}.{attribute}", address]
            _set_path(out, (tf_key, *sub) if sub else (tf_key,), refs)
    return out


def address_name(name: str) -> str:
    """A Terraform resource name from a Pulumi name: letters, digits, ``_`` and ``-``, starting with a letter."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    return cleaned if re.match(r"[A-Za-z_]", cleaned) else f"r_{cleaned}"


def plan(
    resources: list[tuple[PreviewResource, str, str]],
    values: dict[str, dict[str, Any]],
    exprs: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """Assemble the plan from (resource, Terraform type, resource name) with values and expressions by URN."""
    planned, changes, config = [], [], []
    for resource, type_, name in resources:
        address = f"{type_}.{name}"
        planned.append(
            {
                "address": address,
                "mode": "managed",
                "type": type_,
                "name": name,
                "provider_name": PROVIDER_NAME,
                "schema_version": 0,
                "values": values[resource.urn],
            }
        )
        changes.append(
            {
                "address": address,
                "mode": "managed",
                "type": type_,
                "name": name,
                "provider_name": PROVIDER_NAME,
                "change": {"actions": ["create"], "before": None, "after": values[resource.urn]},
            }
        )
        config.append(
            {
                "address": address,
                "mode": "managed",
                "type": type_,
                "name": name,
                "provider_config_key": "aws",
                "expressions": exprs[resource.urn],
            }
        )
    return {
        "format_version": "1.2",
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        # No provider_config: Checkov would report a provider block ``aws.default`` that maps to no Pulumi resource.
        "configuration": {"root_module": {"resources": config}},
    }

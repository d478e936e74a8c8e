"""Generate ``azure_schema.json``: the default Azure REST API version of every azure-native resource type, and its
ARM resource id path where the SDK states one.

azure-native 3.x pins one API version per resource; each resource's docstring says "Uses Azure REST API version
...". The ARM template needs it as ``apiVersion``. Where a docstring carries an import example
(``pulumi import azure-native:web:WebApp name /subscriptions/.../providers/Microsoft.Web/sites/{name}``), the id
path gives the ARM type exactly, parents and path inputs included (:func:`arm_from_path`); it goes to
``arm_paths``. The azure-native 3.29 Python SDK has no import examples (checked: not one of its 6,060 modules), so
the paths come from ``azure_token_paths.json`` instead: the provider's own token -> ARM resource id path metadata
(``reports/tokenPaths.json`` in pulumi/pulumi-azure-native, unversioned ``azure-native:<module>:<Type>`` tokens
only), filling ``arm_paths`` for every SDK resource token it names (an SDK import example, where one exists, wins;
the reviewed table of ``azure.py`` wins over both at translation time). The file is transcribed module block by
module block from that report (commit 0346c1b3), not yet every module: a token it lacks stays untranslatable until
its block is added; ``tests/policies/translate`` reports how many SDK tokens are still uncovered. ``located``: the types whose constructor
takes a ``location``, which the gate fills from the provider's configuration when the program leaves it out. A type
in neither the reviewed table nor ``arm_paths`` is untranslatable (the gate fails), never typed by a naming rule.
Read as source text (importing azure-native costs minutes).

Run: ``.venv/bin/python -m policies.translate.generate_azure_schema`` (rewrites the committed data file).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).with_name("azure_schema.json")
TOKEN_PATHS = Path(__file__).with_name("azure_token_paths.json")
_TOKEN = re.compile(r"@pulumi\.type_token\(\"(azure-native:[^\"]+)\"\)\nclass \w+\(pulumi\.CustomResource\)")
_VERSION = re.compile(r"Uses Azure REST API version ([0-9A-Za-z-]+)\.")
_LOCATION_ARG = re.compile(r"\n\s+location: pulumi\.Input\[")
_IMPORT = re.compile(r"pulumi import (azure-native:[A-Za-z0-9]+:[A-Za-z0-9]+) \S+ (/\S+)")


def arm_from_path(path: str) -> tuple[str, tuple[str, ...], tuple[str | None, ...]] | None:
    """``/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{name}/slots/{slot}`` ->
    (``Microsoft.Web/sites/slots``, path inputs ``("name", "slot")``, fixed names ``(None, None)``); a literal
    segment (``blobServices/default``) is a fixed name with an empty input. Extension resources
    (``/{resourceUri}/providers/Microsoft.Insights/diagnosticSettings/{name}``) give their own type. ``None`` when
    the path has no ``/providers/`` part, an odd number of type/name segments, or a type segment that is itself a
    placeholder (``dnsZones/{zoneName}/{recordType}/...``: the ARM type depends on an input)."""
    if "/providers/" not in path:
        return None
    namespace, *rest = path.rsplit("/providers/", 1)[1].strip("/").split("/")
    if not rest or len(rest) % 2:
        return None
    types, names = rest[0::2], rest[1::2]
    if any(t.startswith("{") for t in [namespace, *types]):
        return None
    inputs = tuple(n[1:-1] if n.startswith("{") and n.endswith("}") else "" for n in names)
    fixed = tuple(None if n.startswith("{") else n for n in names)
    return "/".join([namespace, *types]), inputs, fixed


def generate(sdk_root: Path) -> dict[str, object]:
    versions: dict[str, str] = {}
    paths: dict[str, str] = {}
    located: list[str] = []
    for path in sorted(sdk_root.glob("*/*.py")):
        if path.name.startswith(("_", "get_", "list_")) or path.name == "outputs.py":
            continue
        text = path.read_text()
        token = _TOKEN.search(text)
        version = _VERSION.search(text)
        if token and version:
            versions[token.group(1)] = version.group(1)
            if _LOCATION_ARG.search(text):
                located.append(token.group(1))
        for found in _IMPORT.finditer(text):
            if token and found.group(1) == token.group(1) and arm_from_path(found.group(2)):
                paths[found.group(1)] = found.group(2)
    for token, arm_path in token_paths().items():
        if token in versions and token not in paths and arm_from_path(arm_path):
            paths[token] = arm_path
    plugin = json.loads((sdk_root / "pulumi-plugin.json").read_text())
    return {
        "generated_from": f"azure-native {plugin['version']}",
        "api_versions": dict(sorted(versions.items())),
        "arm_paths": dict(sorted(paths.items())),
        "located": sorted(located),
    }


def token_paths() -> dict[str, str]:
    """Unversioned token -> ARM resource id path from the provider's metadata (keys starting ``_`` are provenance)."""
    if not TOKEN_PATHS.exists():
        return {}
    data = json.loads(TOKEN_PATHS.read_text())
    return {k: v for k, v in data.items() if not k.startswith("_")}


def sdk_root() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("pulumi_azure_native")
    if spec is None or spec.origin is None:
        raise SystemExit("pulumi_azure_native is not installed in this environment; run with .venv/bin/python")
    return Path(spec.origin).parent


def render(data: dict[str, object]) -> str:
    return json.dumps(data, indent=0, separators=(",", ":")) + "\n"


def main() -> int:
    OUT.write_text(render(generate(sdk_root())))
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

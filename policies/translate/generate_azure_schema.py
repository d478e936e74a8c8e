"""Generate ``azure_schema.json``: the default Azure REST API version of every azure-native resource type.

azure-native 3.x pins one API version per resource; each resource's docstring says "Uses Azure REST API version
...". The ARM template needs it as ``apiVersion``. Read as source text (importing azure-native costs minutes).

Run: ``.venv/bin/python -m policies.translate.generate_azure_schema`` (rewrites the committed data file).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).with_name("azure_schema.json")
_TOKEN = re.compile(r"@pulumi\.type_token\(\"(azure-native:[^\"]+)\"\)\nclass \w+\(pulumi\.CustomResource\)")
_VERSION = re.compile(r"Uses Azure REST API version ([0-9A-Za-z-]+)\.")


def generate(sdk_root: Path) -> dict[str, object]:
    versions: dict[str, str] = {}
    for path in sorted(sdk_root.glob("*/*.py")):
        if path.name.startswith(("_", "get_", "list_")) or path.name == "outputs.py":
            continue
        text = path.read_text()
        token = _TOKEN.search(text)
        version = _VERSION.search(text)
        if token and version:
            versions[token.group(1)] = version.group(1)
    plugin = json.loads((sdk_root / "pulumi-plugin.json").read_text())
    return {"generated_from": f"azure-native {plugin['version']}", "api_versions": dict(sorted(versions.items()))}


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

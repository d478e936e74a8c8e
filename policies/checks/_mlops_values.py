"""Reading the resource shapes Checkov hands to checks, without ever raising on an odd shape.

Terraform plan resources arrive "HCL-ified": every attribute value wrapped in a one-item list
(``{"region": ["me-central-1"]}``), every nested block a list of dicts (``{"taint": [{...}, {...}]}``), an empty
block list as ``[[]]``, and bookkeeping keys (``__file__``, ``__startline__``, ``start_line``...) inside maps.
ARM and Kubernetes resources arrive as the parsed JSON/YAML, with ``__startline__``/``__endline__`` added.
Standard library only (see ``_mlops_context``); defines no check.
"""

from __future__ import annotations

from typing import Any

_BOOKKEEPING = frozenset({"__file__", "__startline__", "__endline__", "start_line", "end_line", "__address__"})


def tf_value(conf: Any, key: str) -> Any:
    """A Terraform attribute's value, unwrapped from Checkov's one-item list; ``None`` if absent."""
    if not isinstance(conf, dict):
        return None
    value = conf.get(key)
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def tf_blocks(conf: Any, key: str) -> list[dict[str, Any]]:
    """The nested blocks ``key`` of a Terraform resource or block, as a list of dicts (empty if none)."""
    if not isinstance(conf, dict):
        return []
    value = conf.get(key)
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list):
        return []
    blocks = [item for item in value if isinstance(item, dict)]
    nested = [item for item in value if isinstance(item, list)]
    for inner in nested:  # an empty block list arrives as [[]], a list of blocks sometimes as [[{...}]]
        blocks.extend(item for item in inner if isinstance(item, dict))
    return blocks


def clean_map(value: Any) -> dict[str, Any]:
    """A map attribute (tags, labels) without Checkov's bookkeeping keys; values unwrapped."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, dict):
        return {}
    result = {}
    for key, item in value.items():
        if key in _BOOKKEEPING:
            continue
        if isinstance(item, list) and len(item) == 1:
            item = item[0]
        result[key] = item
    return result


def is_true(value: Any) -> bool:
    """``True`` or ``"true"`` (any case); nothing else counts."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def is_false(value: Any) -> bool:
    """``False`` or ``"false"`` (any case); absent or ``None`` does not count."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def has_text(value: Any) -> bool:
    """A non-blank string, or a number or boolean (Checkov turns plan strings such as ``"true"`` and ``"42"`` into
    those, so they still count as a value given)."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, (bool, int, float)):
        return True
    return isinstance(value, str) and bool(value.strip())


def as_text(value: Any) -> str:
    """A scalar as the string it was written as (Checkov turns plan strings ``"true"``/``"false"`` into booleans)."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def get_path(value: Any, *keys: str) -> Any:
    """``value[k1][k2]...`` through dicts only; ``None`` where a step is missing or not a dict."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def dict_list(value: Any) -> list[dict[str, Any]]:
    """The dict items of a list value (ARM/Kubernetes arrays); empty for anything else."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []

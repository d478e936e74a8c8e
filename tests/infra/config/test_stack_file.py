"""One function spells a stack's config file (``stacks/Pulumi.<stack>.yaml``): messages, reports and the pack use it."""

from __future__ import annotations

from pathlib import Path

from policies.organisation import stack_file

REPO = Path(__file__).resolve().parents[3]


def test_every_shipped_stack_file_is_where_stack_file_says():
    shipped = sorted((REPO / "stacks").glob("Pulumi.*.yaml"))
    assert shipped
    for path in shipped:
        assert REPO / stack_file(path.name[len("Pulumi.") : -len(".yaml")]) == path


def test_it_spells_the_path_from_the_stack_name():
    assert stack_file("aws-uae-prod") == "stacks/Pulumi.aws-uae-prod.yaml"

"""Reading `pulumi preview --json` and `pulumi stack export`: good files become PreviewResults, bad ones say why."""

from __future__ import annotations

import pytest

from policies.inputs import InputError, from_preview_json, from_stack_export
from policies.preview.model import UNKNOWN
from tests.policies.core.conftest import BUCKET_URN, STACK, preview_json_doc, stack_export_doc


def test_preview_json_becomes_one_stack_with_parents_and_unknowns(write_json):
    [result] = from_preview_json(write_json(preview_json_doc()))
    assert (result.project, result.stack) == ("mlops", STACK)
    bucket = result.by_urn()[BUCKET_URN]
    assert bucket.name == "datasets" and bucket.type == "aws:s3/bucket:Bucket"
    assert bucket.parent.endswith("mlops:aws:DataBucket::datasets")
    assert "__defaults" not in bucket.inputs and bucket.inputs["arn"] == UNKNOWN
    assert [u.input for u in result.unknown_inputs] == ["arn"]


def test_preview_json_skips_deletes_and_reads_and_masks_secrets(write_json):
    [result] = from_preview_json(write_json(preview_json_doc()))
    assert not [r for r in result.resources if r.name in ("old", "existing")]
    key = next(r for r in result.resources if r.type == "aws:kms/key:Key")
    assert key.inputs["policy"] == "[secret]"


def test_stack_export_reads_deployment_resources(write_json):
    [result] = from_stack_export(write_json(stack_export_doc("exported")))
    assert result.stack == "exported"
    bucket = next(r for r in result.resources if r.name == "datasets")
    assert bucket.custom and bucket.outputs["arn"] == "arn:aws:s3:::datasets-x"
    assert result.by_urn()[bucket.parent].type == "pulumi:pulumi:Stack"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("{not json", "not valid JSON"),
        ({"stepz": []}, "expected an object with a 'steps' list"),
        ({"steps": ["x"]}, "steps[0]: must be an object"),
        ({"steps": [{"urn": BUCKET_URN, "newState": {}}]}, "steps[0]: 'op' is missing"),
        ({"steps": [{"op": "create", "urn": BUCKET_URN}]}, "steps[0]: op 'create' needs a 'newState'"),
        (
            {"steps": [{"op": "create", "urn": "bucket", "newState": {"type": "aws:s3/bucket:Bucket"}}]},
            "must be a Pulumi URN",
        ),
        (
            {"steps": [{"op": "create", "urn": "urn:pulumi:s::p", "newState": {"type": "aws:s3/bucket:Bucket"}}]},
            "malformed URN",
        ),
        (
            {"steps": [{"op": "create", "urn": BUCKET_URN, "newState": {"type": "bucket"}}]},
            "'type' must be a Pulumi type token",
        ),
        (
            {
                "steps": [
                    {"op": "create", "urn": BUCKET_URN, "newState": {"type": "aws:s3/bucket:Bucket", "inputs": []}}
                ]
            },
            "'inputs' must be an object",
        ),
        ({"steps": [{"op": "delete", "urn": BUCKET_URN}]}, "no planned resources"),
    ],
)
def test_malformed_preview_json_names_file_and_problem(write_json, doc, message):
    path = write_json(doc)
    with pytest.raises(InputError) as err:
        from_preview_json(path)
    assert message in str(err.value) and str(path) in str(err.value)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("[]", "expected an object with 'deployment.resources'"),
        ({"deployment": {"resources": [42]}}, "deployment.resources[0]: must be an object"),
        ({"deployment": {"resources": [{"type": "aws:s3/bucket:Bucket"}]}}, "must be a Pulumi URN"),
        ({"deployment": {"resources": []}}, "is empty"),
    ],
)
def test_malformed_stack_export_names_file_and_problem(write_json, doc, message):
    path = write_json(doc)
    with pytest.raises(InputError) as err:
        from_stack_export(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot be read"):
        from_preview_json(tmp_path / "absent.json")

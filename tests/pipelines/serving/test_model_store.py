"""Publishing model versions into the models bucket (through fsspec, here the local filesystem): one immutable copy
per version at <store>/<name>/<version>/, refused when the version exists with other bytes, completed when an
earlier copy of the same bytes was interrupted; the URIs KServe reads for each target's bucket."""

from __future__ import annotations

import shutil

import pytest

from pipelines.registry import VersionConflict, artifact_sha256
from pipelines.serving.model_store import ModelStore, ModelStoreError, publish, tree_sha256


def test_a_version_is_copied_once_and_hashes_to_its_sha256(tmp_path, model_dirs):
    store = tmp_path / "models"
    sha = artifact_sha256(model_dirs["a"])
    uri = publish(model_dirs["a"], f"file://{store}", "credit-risk", "run-1", sha)
    assert uri == f"file://{store}/credit-risk/run-1/"
    copy = store / "credit-risk" / "run-1"
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in model_dirs["a"].iterdir())
    assert artifact_sha256(copy) == sha
    mtimes = {p: p.stat().st_mtime_ns for p in copy.iterdir()}
    assert publish(model_dirs["a"], f"file://{store}/", "credit-risk", "run-1", sha) == uri  # re-run: same bytes
    assert {p: p.stat().st_mtime_ns for p in copy.iterdir()} == mtimes, "nothing rewritten"


def test_a_version_present_with_other_bytes_is_refused(tmp_path, model_dirs):
    store = f"file://{tmp_path / 'models'}"
    publish(model_dirs["a"], store, "credit-risk", "run-1", artifact_sha256(model_dirs["a"]))
    with pytest.raises(VersionConflict, match="immutable") as refused:
        publish(model_dirs["b"], store, "credit-risk", "run-1", artifact_sha256(model_dirs["b"]))
    assert artifact_sha256(model_dirs["a"]) in str(refused.value)  # names what is there
    assert artifact_sha256(tmp_path / "models" / "credit-risk" / "run-1") == artifact_sha256(model_dirs["a"])


def test_an_interrupted_copy_of_the_same_bytes_is_completed(tmp_path, model_dirs):
    target = tmp_path / "models" / "credit-risk" / "run-1"
    target.mkdir(parents=True)
    first = min(model_dirs["a"].iterdir())
    shutil.copy(first, target / first.name)
    sha = artifact_sha256(model_dirs["a"])
    publish(model_dirs["a"], f"file://{tmp_path / 'models'}", "credit-risk", "run-1", sha)
    assert artifact_sha256(target) == sha


def test_an_artifact_that_is_not_what_the_lineage_says_is_not_published(tmp_path, model_dirs):
    with pytest.raises(VersionConflict, match="lineage records"):
        publish(model_dirs["a"], f"file://{tmp_path}", "credit-risk", "run-1", "0" * 64)
    assert not (tmp_path / "credit-risk").exists()


def test_nested_files_hash_like_the_registry(tmp_path, model_dirs):
    model = tmp_path / "nested"
    shutil.copytree(model_dirs["a"], model)
    (model / "a.txt").write_text("x")
    (model / "a").mkdir()
    (model / "a" / "b").write_text("y")  # "a/b" sorts before "a.txt" by path parts, after it as a string
    files = {p.relative_to(model).as_posix(): p.read_bytes() for p in model.rglob("*") if p.is_file()}
    assert tree_sha256(files) == artifact_sha256(model)
    uri = publish(model, f"file://{tmp_path / 'store'}", "credit-risk", "v1", artifact_sha256(model))
    assert artifact_sha256(tmp_path / "store" / "credit-risk" / "v1") == artifact_sha256(model)
    assert uri.endswith("/credit-risk/v1/")


@pytest.mark.parametrize(
    ("uri", "protocol", "options", "serving"),
    [
        ("s3://aws-uae-prod-models-123456789012", "s3", {}, "s3://aws-uae-prod-models-123456789012/credit-risk/r1/"),
        ("s3://models/registry/", "s3", {}, "s3://models/registry/credit-risk/r1/"),
        (
            "abfss://models@mlopsprodab12cd.dfs.core.windows.net",
            "abfs",
            {"account_name": "mlopsprodab12cd"},
            "https://mlopsprodab12cd.blob.core.windows.net/models/credit-risk/r1/",
        ),
        ("gs://bucket/p", "gs", {}, "gs://bucket/p/credit-risk/r1/"),
    ],
)
def test_each_targets_bucket_maps_to_a_uri_kserve_reads(uri, protocol, options, serving):
    store = ModelStore.parse(uri)
    assert (store.protocol, store.options) == (protocol, options)
    assert store.location("credit-risk", "r1")[1] == serving


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "models",
        "http://example.com/models",
        "file://relative/path",
        "s3://",
        "abfss://models@account.blob.core.windows.net",
    ],
)
def test_unusable_store_uris_are_refused_with_what_is_allowed(uri):
    with pytest.raises(ModelStoreError, match="model_store_uri .*s3://BUCKET"):
        ModelStore.parse(uri)


def test_bad_names_and_versions_are_refused(tmp_path):
    store = ModelStore.parse(f"file://{tmp_path}")
    with pytest.raises(ModelStoreError, match="model name"):
        store.location("Credit Risk", "v1")
    with pytest.raises(ModelStoreError, match="model version"):
        store.location("credit-risk", "../v1")


def test_a_missing_filesystem_package_is_named():
    pytest.importorskip("fsspec")
    try:
        import s3fs  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("s3fs is installed here")
    with pytest.raises(ModelStoreError, match="needs the Python package s3fs"):
        ModelStore.parse("s3://models").filesystem()

"""Kubernetes sources of many objects and patches (policies/translate/kubernetes.py): ConfigGroup/ConfigFile and local
kustomizations are rendered offline and scanned, traced to the declaring resource; Helm charts and remote sources
fail closed (exit 2) unless an unexpired exception in policies/exceptions/unrendered.yaml allows them unscanned;
``*Patch`` resources are scanned, and only FAILED results on fields they set count."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from components import versions
from policies.gate import GateError, run_gate
from policies.preview.model import PreviewResource, PreviewResult
from policies.translate import exceptions as exc_mod
from policies.translate import translate
from policies.translate.kubernetes import patch_keys, patch_result_counts, program_dir

PROGRAM = Path(__file__).parent / "fixtures" / "k8s_program"
STACK_FILE = str(PROGRAM / "stacks" / "Pulumi.k8s.yaml")
STACK = "k8s"
PRIVILEGED_POD = """apiVersion: v1
kind: Pod
metadata:
  name: inline-pod
  namespace: apps
spec:
  containers:
    - name: app
      image: nginx:1.27
      securityContext:
        privileged: true
"""
TODAY = dt.date(2026, 12, 4)


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::mlops::{type_}::{name}"


def res(type_: str, name: str, inputs: dict, *, custom: bool = False, parent: str | None = None) -> PreviewResource:
    return PreviewResource(urn=urn(type_, name), type=type_, name=name, custom=custom, inputs=inputs, parent=parent)


def preview(*resources: PreviewResource) -> PreviewResult:
    return PreviewResult(project="mlops", stack=STACK, source=STACK_FILE, resources=list(resources))


def row(translated, resource: PreviewResource):
    return next(r for r in translated.coverage if r.urn == resource.urn)


def helm(
    name: str = "redis", chart: str = "oci://registry-1.docker.io/bitnamicharts/redis", version: str = "20.6.2", **extra
) -> PreviewResource:
    return res("kubernetes:helm.sh/v3:Release", name, {"chart": chart, "version": version, **extra}, custom=True)


def write_exceptions(path: Path, *entries: dict) -> Path:
    import yaml

    path.write_text(yaml.safe_dump({"exceptions": list(entries)}))
    return path


def entry(**overrides) -> dict:
    base = {
        "chart": "redis",
        "version": "20.6.2",
        "repo": "oci://registry-1.docker.io/bitnamicharts",
        "reason": "not rendered offline; pinned upstream",
        "approved_by": "ml-platform-team",
        "expires": "2027-03-31",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture
def exceptions_file(tmp_path, monkeypatch):
    """Point the gate at a temporary exceptions file (none by default: every unrendered source fails)."""
    path = tmp_path / "unrendered.yaml"
    monkeypatch.setenv(exc_mod.ENV_VAR, str(path))
    return path


# --- rendering --------------------------------------------------------------------------------------------------


def test_program_dir_follows_stack_config_dir():
    assert program_dir(STACK_FILE) == PROGRAM


def test_inline_config_group_objects_are_manifests_traced_to_the_group(exceptions_file):
    group = res("kubernetes:yaml/v2:ConfigGroup", "inline", {"yaml": PRIVILEGED_POD})
    objs = res(
        "kubernetes:yaml:ConfigGroup",
        "objs",
        {"objs": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"a": "b"}}]},
    )
    listed = res("kubernetes:yaml/v2:ConfigGroup", "listed", {"yaml": [PRIVILEGED_POD.replace("inline-pod", "second")]})
    out = translate(preview(group, objs, listed))
    assert out.errors == []
    assert all(row(out, r).status == "translated" for r in (group, objs, listed))
    by_id = {ident: origin for (_, ident), origin in out.origins.items()}
    assert by_id["Pod.apps.inline-pod"].urn == group.urn
    assert by_id["ConfigMap.default.cm"].urn == objs.urn
    assert by_id["Pod.apps.second"].urn == listed.urn


def test_config_file_local_path_is_read_relative_to_the_program(exceptions_file):
    file_ = res("kubernetes:yaml/v2:ConfigFile", "local", {"file": "manifests/privileged.yaml"})
    out = translate(preview(file_))
    assert out.errors == []
    assert row(out, file_).status == "translated"
    assert "2 object(s)" in row(out, file_).detail
    ids = {ident for (_, ident), origin in out.origins.items() if origin.urn == file_.urn}
    assert ids == {"Pod.apps.from-file", "ConfigMap.apps.from-file-config"}


def test_missing_local_file_is_an_error(exceptions_file):
    file_ = res("kubernetes:yaml/v2:ConfigFile", "missing", {"file": "manifests/nope.yaml"})
    out = translate(preview(file_))
    assert row(out, file_).status == "untranslatable"
    assert "nope.yaml" in out.errors[0]


def test_remote_config_file_needs_an_exception(exceptions_file):
    url = "https://github.com/knative/serving/releases/download/knative-v1.15.2/serving-core.yaml"
    file_ = res("kubernetes:yaml/v2:ConfigFile", "remote", {"file": url})
    out = translate(preview(file_))
    assert row(out, file_).status == "untranslatable" and "not fetched offline" in out.errors[0]
    write_exceptions(
        exceptions_file,
        entry(chart="serving-core.yaml", version="knative-v1.15.2", repo="https://github.com/knative/serving"),
    )
    out = translate(preview(file_))
    assert out.errors == [] and row(out, file_).status == "unscanned"


def test_v1_group_whose_objects_are_children_is_not_scanned_twice(exceptions_file):
    group = res("kubernetes:yaml:ConfigGroup", "v1", {})
    child = res(
        "kubernetes:core/v1:Pod",
        "inline-pod",
        {"metadata": {"name": "inline-pod"}, "spec": {"containers": [{"name": "c", "image": "x"}]}},
        custom=True,
        parent=group.urn,
    )
    out = translate(preview(group, child))
    assert out.errors == []
    assert "child resources" in row(out, group).detail
    assert [origin.urn for origin in out.origins.values()] == [child.urn]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl renders local kustomizations")
def test_local_kustomization_is_rendered_with_kubectl(exceptions_file):
    directory = res("kubernetes:kustomize/v2:Directory", "kustomized", {"directory": "kustomize"})
    out = translate(preview(directory))
    assert out.errors == []
    assert {ident for (_, ident) in out.origins} == {"Pod.kustomized.kustomized-pod"}


def test_remote_kustomization_matches_its_exception_by_ref(exceptions_file):
    target = "github.com/kubeflow/pipelines/manifests/kustomize/env/platform-agnostic?ref=2.5.0"
    directory = res("kubernetes:kustomize/v2:Directory", "kfp", {"directory": target})
    write_exceptions(
        exceptions_file,
        entry(chart="manifests/kustomize/env/platform-agnostic", version="2.4.0", repo="github.com/kubeflow/pipelines"),
    )
    out = translate(preview(directory))
    assert row(out, directory).status == "untranslatable" and "2.4.0" in out.errors[0]
    write_exceptions(
        exceptions_file,
        entry(chart="manifests/kustomize/env/platform-agnostic", version="2.5.0", repo="github.com/kubeflow/pipelines"),
    )
    assert row(translate(preview(directory)), directory).status == "unscanned"


# --- Helm and exceptions -----------------------------------------------------------------------------------------


def test_remote_chart_without_exception_exits_2(exceptions_file):
    release = helm()
    out = translate(preview(release))
    assert row(out, release).status == "untranslatable"
    assert "no exception" in out.errors[0] and "redis" in out.errors[0]
    with pytest.raises(GateError, match="redis"):
        run_gate([preview(release)])


def test_local_chart_cannot_be_rendered_without_helm(exceptions_file, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    release = helm("local", chart="charts/local", version="0.1.0")
    out = translate(preview(release))
    assert row(out, release).status == "untranslatable" and "no helm binary" in out.errors[0]


def test_local_chart_is_rendered_by_helm_template_when_helm_exists(exceptions_file, tmp_path, monkeypatch):
    """A stand-in helm records its arguments and values and prints one object."""
    fake = tmp_path / "bin" / "helm"
    fake.parent.mkdir()
    fake.write_text(
        '#!/bin/sh\necho "$@" > "$(dirname "$0")/args"\ncat > "$(dirname "$0")/values"\n'
        f"cat <<'EOF'\n{PRIVILEGED_POD}EOF\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    release = helm("local", chart="charts/local", version="0.1.0", values={"replicas": 1}, namespace="apps")
    out = translate(preview(release))
    assert out.errors == [] and row(out, release).status == "translated"
    assert {ident for (_, ident) in out.origins} == {"Pod.apps.inline-pod"}
    args = (fake.parent / "args").read_text().split()
    assert args[:3] == ["template", "local", str(PROGRAM / "charts" / "local")] and "--namespace" in args
    assert (fake.parent / "values").read_text() == '{"replicas": 1}'


def test_matching_exception_makes_an_unscanned_row_naming_it(exceptions_file):
    write_exceptions(exceptions_file, entry())
    release = helm()
    out = translate(preview(release), today=TODAY)
    assert out.errors == []
    got = row(out, release)
    assert got.status == "unscanned"
    for part in (
        str(exceptions_file),
        "exceptions[0]",
        "redis",
        "20.6.2",
        "oci://registry-1.docker.io/bitnamicharts",
        "2027-03-31",
        "ml-platform-team",
    ):
        assert part in got.detail
    assert "pinned, reviewed" not in got.detail


def test_repository_opts_repo_is_matched(exceptions_file):
    write_exceptions(exceptions_file, entry(chart="minio", version="5.4.0", repo="https://charts.min.io/"))
    release = helm("minio", chart="minio", version="5.4.0", repositoryOpts={"repo": "https://charts.min.io/"})
    assert row(translate(preview(release)), release).status == "unscanned"


def test_other_version_does_not_match(exceptions_file):
    write_exceptions(exceptions_file, entry(version="20.6.1"))
    out = translate(preview(helm()), today=TODAY)
    assert out.errors and "20.6.1" in out.errors[0]


def test_expired_exception_is_an_error_naming_it(exceptions_file):
    write_exceptions(exceptions_file, entry(expires="2026-01-31"))
    out = translate(preview(helm()), today=TODAY)
    assert out.errors and "expired on 2026-01-31" in out.errors[0] and "exceptions[0]" in out.errors[0]
    with pytest.raises(GateError, match="expired"):
        run_gate([preview(helm())])


@pytest.mark.parametrize(
    "text, message",
    [
        ("exceptions:\n  - {chart: redis}\n", "missing"),
        ("exceptions: {chart: redis}\n", "holding a list"),
        ("exceptions: [", "not valid YAML"),
    ],
)
def test_malformed_exception_file_exits_2(exceptions_file, text, message):
    exceptions_file.write_text(text)
    out = translate(preview())
    assert out.errors and message in out.errors[0]
    with pytest.raises(GateError, match="exceptions"):
        run_gate([preview()])


@pytest.mark.parametrize(
    "override, message",
    [
        ({"owner": "x"}, "unknown key"),
        ({"expires": "31/03/2027"}, "not an ISO date"),
        ({"approved_by": None}, "missing"),
        ({"reason": "ok"}, "too short"),
    ],
)
def test_exception_entries_are_validated(exceptions_file, override, message):
    raw = entry()
    raw.update(override)
    write_exceptions(exceptions_file, {k: v for k, v in raw.items() if v is not None})
    with pytest.raises(exc_mod.ExceptionFileError, match=message):
        exc_mod.load()


def test_shipped_exceptions_cover_exactly_what_versions_pins():
    entries = exc_mod.load(exc_mod.EXCEPTIONS_FILE)
    got = {(e.chart, e.version, e.repo) for e in entries}
    want = {(c.name, c.version, c.repository) for c in versions.CHARTS}
    want |= {(a.asset, a.tag, f"https://github.com/{a.repository}") for a in versions.RELEASE_ASSETS}
    want |= {(m.path, m.ref, m.repository) for m in versions.MANIFESTS}
    assert got == want
    assert all(e.approved_by == "ml-platform-team" and e.expires == dt.date(2027, 3, 31) for e in entries)
    helm_reasons = [
        e.reason
        for e in entries
        if (e.chart, e.version, e.repo) in {(c.name, c.version, c.repository) for c in versions.CHARTS}
    ]
    assert all("NOT scanned at pulumi preview" in r for r in helm_reasons)


# --- patches -----------------------------------------------------------------------------------------------------


def _result(check_id: str, status: str, keys: tuple[str, ...], partial: tuple[str, ...] | None):
    return SimpleNamespace(
        check_id=check_id, result=status, evaluated_keys=keys, origin=SimpleNamespace(partial_keys=partial)
    )


def test_patch_results_count_only_when_failing_on_fields_set():
    keys = patch_keys(
        {
            "spec": {
                "template": {
                    "spec": {"containers": [{"name": "c", "securityContext": {"readOnlyRootFilesystem": False}}]}
                }
            }
        }
    )
    on_field = ("spec/template/spec/containers/[0]/securityContext/readOnlyRootFilesystem",)
    assert patch_result_counts(_result("CKV_K8S_22", "FAILED", on_field, keys))
    assert not patch_result_counts(_result("CKV_K8S_22", "PASSED", on_field, keys))
    assert not patch_result_counts(
        _result("CKV_K8S_8", "FAILED", ("spec/template/spec/containers/[0]/livenessProbe",), keys)
    )
    assert not patch_result_counts(_result("CKV_MLOPS_201", "FAILED", ("spec",), keys))
    assert patch_result_counts(_result("CKV_K8S_16", "FAILED", (), keys))
    assert patch_result_counts(_result("CKV_K8S_8", "PASSED", (), None))  # whole objects: untouched


# --- real Checkov ------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_inline_config_group_with_privileged_pod_fails_the_gate(exceptions_file):
    group = res("kubernetes:yaml/v2:ConfigGroup", "inline", {"yaml": PRIVILEGED_POD})
    file_ = res("kubernetes:yaml/v2:ConfigFile", "local", {"file": "manifests/privileged.yaml"})
    report = run_gate([preview(group, file_)])
    assert report.exit_code == 1
    failed = {(f.check_id, f.urn) for f in report.failed}
    assert ("CKV_K8S_16", group.urn) in failed
    assert ("CKV_K8S_16", file_.urn) in failed


@pytest.mark.slow
def test_patches_setting_privileged_or_host_namespaces_fail_and_benign_patches_do_not(exceptions_file):
    template = {
        "spec": {
            "hostNetwork": True,
            "hostPID": True,
            "containers": [{"name": "app", "securityContext": {"privileged": True}}],
        }
    }
    bad = res(
        "kubernetes:apps/v1:DeploymentPatch",
        "bad",
        {"metadata": {"name": "app", "namespace": "apps"}, "spec": {"template": template}},
        custom=True,
    )
    pod = res(
        "kubernetes:core/v1:PodPatch",
        "bad-pod",
        {"metadata": {"name": "pod", "namespace": "apps"}, "spec": template["spec"]},
        custom=True,
    )
    benign = res(
        "kubernetes:apps/v1:DeploymentPatch",
        "benign",
        {
            "metadata": {"name": "other", "namespace": "apps"},
            "spec": {
                "replicas": 0,
                "template": {"spec": {"containers": [{"name": "app", "env": [{"name": "A", "value": "b"}]}]}},
            },
        },
        custom=True,
    )
    report = run_gate([preview(bad, pod, benign)])
    assert report.exit_code == 1
    failed = {(f.check_id, f.urn) for f in report.failed}
    for check in ("CKV_K8S_16", "CKV_K8S_17", "CKV_K8S_19"):
        assert (check, bad.urn) in failed
        assert (check, pod.urn) in failed
    assert not [f for f in report.findings if f.urn == benign.urn]
    assert not [f for f in report.findings if f.urn in (bad.urn, pod.urn) and f.status == "PASSED"]

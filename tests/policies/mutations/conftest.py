"""Every shipped stack previewed once, every mutation applied to its own copy, all gated in ONE Checkov run."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest

from policies.preview.model import PreviewResource, PreviewResult
from tests.policies.mutations.catalogue import MUTATIONS, Mutation


def find(result: PreviewResult, type_token: str, name: str) -> PreviewResource:
    found = [r for r in result.resources if r.custom and r.type == type_token and r.name == name]
    assert len(found) == 1, f"{result.stack}: expected one {type_token} {name!r}, found {len(found)}"
    return found[0]


def mutate(shipped: PreviewResult, mutation: Mutation) -> PreviewResult:
    """A copy of the stack named ``mut-<id>`` with the safeguard flipped. Only the mutated provider's resources
    (and pulumi-command's) are kept (Checkov never links resources across frameworks), which keeps the single run
    small."""
    result = copy.deepcopy(shipped)
    result.stack = f"mut-{mutation.id}"
    if mutation.add is not None:
        stack_urn = next(r.urn for r in result.resources if r.type == "pulumi:pulumi:Stack")
        target = PreviewResource(
            urn=f"urn:pulumi:{shipped.stack}::{shipped.project}::{mutation.type}::{mutation.name}",
            type=mutation.type,
            name=mutation.name,
            parent=stack_urn,
            inputs=mutation.add(),
        )
        result.resources.append(target)
    elif mutation.edit is None:
        target = find(result, mutation.type, mutation.name)
        result.resources.remove(target)
    else:
        target = find(result, mutation.type, mutation.name)
        mutation.edit(target.inputs)
        # an input the component no longer sets depends on nothing (translation turns dependencies into references)
        target.property_dependencies = {k: v for k, v in target.property_dependencies.items() if k in target.inputs}
    # the finding may land in another provider's resources (a Karpenter NodePool judged on the EKS node group);
    # command resources stay: a ConfigMap holding a local command's output (the RDS CA bundle) is translated with a
    # placeholder only while the command is in the preview, else its data is an unknown setting and the gate stops
    packages = {target.package, "pulumi", "command", *([mutation.on[0].split(":", 1)[0]] if mutation.on else [])}
    result.resources = [r for r in result.resources if not r.custom or r.package in packages]
    return result


MUTATION_CHECKOV_TIMEOUT_S = 1200.0


@dataclass
class MutationRun:
    shipped: dict[str, PreviewResult]
    report: object
    """policies.gate.GateReport of the shipped stacks and every mutated copy."""


@pytest.fixture(scope="session")
def mutation_run() -> MutationRun:
    from policies.gate import collect_inputs, run_gate

    shipped = {r.stack: r for r in collect_inputs(all_stacks=True)}
    mutated = [mutate(shipped[m.stack], m) for m in MUTATIONS]
    # the onprem node bootstrap (pulumi-command) has no translation: allowed unscanned explicitly, as in CI
    # one Checkov run over ~140 stacks (~18k manifests): minutes of CPU, more than the gate's default 300 s limit
    # on a shared 2-core machine
    return MutationRun(shipped, run_gate([*shipped.values(), *mutated], allow_unscanned=["command"],
                                         timeout_s=MUTATION_CHECKOV_TIMEOUT_S))

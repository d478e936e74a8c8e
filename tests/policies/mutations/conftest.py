"""Every shipped stack previewed once, every mutation applied to its own copy, all gated in ONE Checkov run."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest

from policies.gate import GateReport, StackReport
from policies.preview.model import PreviewResource, PreviewResult
from tests.policies.mutations.catalogue import MUTATIONS, Mutation


def find(result: PreviewResult, type_token: str, name: str) -> PreviewResource:
    found = [r for r in result.resources if r.custom and r.type == type_token and r.name == name]
    assert len(found) == 1, f"{result.stack}: expected one {type_token} {name!r}, found {len(found)}"
    return found[0]


def mutate(shipped: PreviewResult, mutation: Mutation) -> PreviewResult:
    """A copy of the stack named ``mut-<id>`` with the safeguard flipped. Only the mutated provider's resources
    are kept (Checkov never links resources across frameworks), which keeps the single run small."""
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
    # the finding may land in another provider's resources (a Karpenter NodePool judged on the EKS node group)
    # command resources stay: a ConfigMap holding a local command's output (the RDS CA bundle) is translated with a
    # placeholder only while the command is in the preview, else its data is an unknown setting and the gate stops
    packages = {target.package, "pulumi", "command", *([mutation.on[0].split(":", 1)[0]] if mutation.on else [])}
    result.resources = [r for r in result.resources if not r.custom or r.package in packages]
    return result


BATCH = 12
"""Mutated copies per Checkov run. One run over every copy outgrows the gate's Checkov time limit on a 2-core CI
machine (each Kubernetes copy carries the whole cluster's objects); runs of a dozen stay well inside it."""


@dataclass
class MutationRun:
    shipped: dict[str, PreviewResult]
    shipped_report: GateReport
    """The shipped stacks, gated alone: they must pass."""
    mutated_reports: list[GateReport]
    """One per batch of mutated copies: each must fail."""

    @property
    def stacks(self) -> list[StackReport]:
        return [s for r in (self.shipped_report, *self.mutated_reports) for s in r.stacks]


@pytest.fixture(scope="session")
def mutation_run() -> MutationRun:
    from policies.gate import collect_inputs, run_gate

    shipped = {r.stack: r for r in collect_inputs(all_stacks=True)}
    mutated = [mutate(shipped[m.stack], m) for m in MUTATIONS]
    # the onprem node bootstrap (pulumi-command) has no translation: allowed unscanned explicitly, as in CI
    allow = ["command"]
    return MutationRun(
        shipped,
        run_gate(list(shipped.values()), allow_unscanned=allow),
        [run_gate(mutated[i : i + BATCH], allow_unscanned=allow) for i in range(0, len(mutated), BATCH)],
    )

"""Stacks are previewed in parallel processes: results come back in order, errors come back as raised."""

from __future__ import annotations

import os

import pytest

from policies import inputs
from policies.preview.model import PreviewResult
from policies.preview.runner import PreviewError


def preview_in_child(name: str) -> PreviewResult:
    if name == "broken":
        raise PreviewError(f"stack {name!r}: the program failed")
    return PreviewResult(project="p", stack=name, source=str(os.getpid()), resources=[])


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one CPU: previews run in-process")
def test_previews_run_in_other_processes_and_keep_their_order(monkeypatch):
    monkeypatch.setattr("threading.active_count", lambda: 1)  # other tests of the session may leave threads behind
    results = inputs._previews(preview_in_child, ["a", "b", "c"])
    assert [r.stack for r in results] == ["a", "b", "c"]
    assert str(os.getpid()) not in {r.source for r in results}


def test_a_failing_preview_raises_its_own_error(monkeypatch):
    monkeypatch.setattr("threading.active_count", lambda: 1)
    with pytest.raises(PreviewError, match="stack 'broken': the program failed"):
        inputs._previews(preview_in_child, ["a", "broken"])


def test_a_process_running_threads_previews_in_process(monkeypatch):
    monkeypatch.setattr("threading.active_count", lambda: 2)  # forking a threaded process can deadlock
    assert {r.source for r in inputs._previews(preview_in_child, ["a", "b"])} == {str(os.getpid())}


def test_a_single_stack_is_previewed_in_process():
    assert [r.source for r in inputs._previews(preview_in_child, ["a"])] == [str(os.getpid())]

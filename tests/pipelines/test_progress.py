"""Structured progress events: the steps print one JSON line per event, `mlops local` shows those and nothing else."""

from __future__ import annotations

import io
import json

import pytest

from pipelines.local_run import _ProgressTee, progress_event
from pipelines.steps import progress


def test_an_event_is_one_prefixed_json_line():
    text = progress.line("gate", "gate: deploy", ["auc ok", "line\nbreak"], decision="deploy")
    assert text.startswith(progress.PREFIX) and "\n" not in text
    assert json.loads(text[len(progress.PREFIX) :]) == {
        "event": "gate",
        "message": "gate: deploy",
        "details": ["auc ok", "line\nbreak"],
        "decision": "deploy",
    }


def test_emit_prints_and_parse_reads_it_back(capsys):
    progress.emit("data", "asked for 10 entity rows, got 9; sha256 ab", rows_asked=10, rows_got=9)
    out = capsys.readouterr().out
    event = progress.parse(out.strip())
    assert event == {
        "event": "data",
        "message": "asked for 10 entity rows, got 9; sha256 ab",
        "rows_asked": 10,
        "rows_got": 9,
    }
    assert progress.render(event) == ["asked for 10 entity rows, got 9; sha256 ab"]


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="unknown progress event"):
        progress.line("epoch-ish", "x")


@pytest.mark.parametrize(
    "text",
    [
        "gate: deploy",  # what the steps used to print: no longer progress
        "trial 3: val_loss 0.2 after 4 epochs",
        progress.PREFIX + "{not json",
        progress.PREFIX + json.dumps({"event": "nope", "message": "x"}),
        progress.PREFIX + json.dumps({"event": "gate"}),
        progress.PREFIX + json.dumps({"event": "gate", "message": "x", "details": "not a list"}),
    ],
)
def test_other_output_is_not_an_event(text):
    assert progress.parse(text) is None


def test_the_runner_prefix_before_an_event_does_not_matter():
    line = "\x1b[90m[train-model]\x1b[0m " + progress.line("trial", "trial t1: val_loss 0.1000", trial="t1")
    assert progress_event(line)["trial"] == "t1"


def test_the_local_runners_status_lines_are_step_events():
    started = progress_event("12:00:01 - INFO - Executing task \x1b[96m'load-data'\x1b[0m")
    assert started == {
        "event": "step_started",
        "message": "12:00:01 - INFO - Executing task 'load-data'",
        "task": "load-data",
    }
    finished = progress_event("Task 'load-data' finished with status \x1b[92mSUCCESS\x1b[0m")
    assert finished["event"] == "step_finished" and finished["status"] == "SUCCESS"
    done = progress_event("Pipeline 'train-validate-deploy' finished with status SUCCESS")
    assert done["event"] == "pipeline_finished" and done["pipeline"] == "train-validate-deploy"


def test_the_console_shows_events_only_and_everything_goes_to_the_log():
    log, shown = io.StringIO(), []
    tee = _ProgressTee(log, shown.append)
    tee.write("pip noise\n" + progress.line("gate", "gate: reject", ["auc 0.5 fails >= 0.7"]) + "\n")
    tee.write("gate: looks like progress but is a plain print\nTask 'release-gate' finished with status SUCCESS\n")
    assert shown == ["gate: reject", "- auc 0.5 fails >= 0.7", "Task 'release-gate' finished with status SUCCESS"]
    assert "pip noise" in log.getvalue() and "plain print" in log.getvalue()

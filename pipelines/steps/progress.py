"""Structured progress events: what a step tells whoever runs the pipeline, one JSON line per event.

A step calls :func:`emit` (or passes :func:`line` to an ``echo``); the line is ``mlops-progress: {json}`` on the step's
stdout, so it reads in a pod's log as well. ``mlops local`` (:mod:`pipelines.local_run`) shows these events and no
other step output: it finds them with :func:`parse` and prints :func:`render`'s lines. Standard library only (embedded
into every component with ``pipelines/steps``).

Event: ``{"event": KIND, "message": TEXT, "details": [TEXT, ...], ...data}``: ``message`` is the line shown,
``details`` are shown below it as ``- TEXT``, the other keys carry the values for machines.
"""

from __future__ import annotations

import json
from typing import Any

PREFIX = "mlops-progress: "
EVENTS = (
    "step_started",
    "step_finished",
    "pipeline_finished",
    "data",
    "materialized",
    "search",
    "trial",
    "best_trial",
    "gate",
    "deploy",
    "monitor",
)
"""The kinds of event: the runner's step and pipeline status, and what the steps report (data loaded, features
materialized, the search started, a trial trained, the best trial, the release gate's decision, the deployment,
the monitor's decision)."""


def line(event: str, message: str, details: list[str] | tuple[str, ...] = (), **data: Any) -> str:
    """The event as one line (no newline inside: ``json.dumps`` escapes them)."""
    if event not in EVENTS:
        raise ValueError(f"unknown progress event {event!r}; one of {', '.join(EVENTS)}")
    body = {"event": event, "message": message, **({"details": [str(d) for d in details]} if details else {}), **data}
    return PREFIX + json.dumps(body, sort_keys=True, default=str)


def emit(event: str, message: str, details: list[str] | tuple[str, ...] = (), **data: Any) -> None:
    """Print the event on stdout, flushed (a step's output is read while it runs)."""
    print(line(event, message, details, **data), flush=True)


def parse(text: str) -> dict[str, Any] | None:
    """The event a line of output carries, or None (any other output, or a malformed event). The prefix may follow
    whatever the runner puts before a step's lines."""
    at = text.find(PREFIX)
    if at < 0:
        return None
    try:
        event = json.loads(text[at + len(PREFIX) :])
    except ValueError:
        return None
    if not (isinstance(event, dict) and event.get("event") in EVENTS and isinstance(event.get("message"), str)):
        return None
    details = event.get("details", [])
    if not (isinstance(details, list) and all(isinstance(d, str) for d in details)):
        return None
    return event


def render(event: dict[str, Any]) -> list[str]:
    """The lines a person sees for an event: its message, then ``- detail`` per detail."""
    return [event["message"], *(f"- {d}" for d in event.get("details", []))]

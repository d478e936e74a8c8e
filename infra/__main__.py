"""Pulumi entry point (``main: infra/``): validate the stack config, then build the target's platform."""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:  # `pulumi up` runs this file directly; the repo root holds components/ and policies/
    sys.path.insert(0, _ROOT)

import pulumi

from components.errors import InputError
from infra.config import ConfigError, load_from_pulumi
from infra.program import build

try:
    stack_config = load_from_pulumi()
except ConfigError as exc:
    raise pulumi.RunError(str(exc)) from None

try:
    build(stack_config)
except (ConfigError, InputError) as exc:  # a stack the targets or a component refuse: the message, no traceback
    raise pulumi.RunError(str(exc)) from None

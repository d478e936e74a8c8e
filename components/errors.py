"""The one exception components raise for Args they cannot build from.

Components take only their typed Args and know nothing of the stack config; when an Args value cannot be deployed,
they raise :class:`InputError` with a message meant for the user as is (it names the field and what is allowed). The
offline preview and the CLI show it like a stack :class:`~policies.organisation.ConfigError`: the message, no
traceback. A ``ValueError``, so callers that catch that keep working.
"""

from __future__ import annotations


class InputError(ValueError):
    """Args a component cannot deploy; the message names the field and what is allowed."""

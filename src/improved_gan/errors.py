"""The one exception type for mistakes a user can fix.

Anything a user supplies (a file, a config value, a command-line option) that
is wrong raises :class:`UserError` with a message that says what is wrong and
how to fix it. The command line prints that message alone, with no traceback,
and exits with status 2. Programming errors stay ordinary exceptions.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input that the user can correct; ``str(err)`` is the whole message."""


class DataError(UserError, ValueError):
    """A dataset file is missing, truncated, corrupt or inconsistent."""


class ConfigError(UserError, ValueError):
    """A configuration value or combination of values is impossible."""

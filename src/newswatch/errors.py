"""The exceptions newswatch raises on purpose.

Only errors a user can act on are wrapped; bugs propagate as they are. The tree::

    NewswatchError
    ├── ConfigError (ValueError)          the config file is missing, unreadable or invalid
    ├── UsageError (ValueError)           a command was called with arguments that cannot work
    └── StorageError
        ├── DatabaseUnavailableError      the database cannot be opened or reached
        ├── SchemaError                   the schema is newer than this code, or unknown
        └── LedgerConflict                another process recorded the same digest or articles

Each message names the thing and the cause, on one line, so the CLI can print it as it is.
"""

from __future__ import annotations


class NewswatchError(Exception):
    """Root of every error newswatch raises on purpose."""

    #: Process exit code the CLI uses for this error (2: bad usage or config, 1: runtime).
    exit_code: int = 1


class ConfigError(NewswatchError, ValueError):
    """The configuration is missing, unreadable or invalid."""

    exit_code = 2


class UsageError(NewswatchError, ValueError):
    """A command was asked to do something that cannot work as asked."""

    exit_code = 2


class StorageError(NewswatchError):
    """The database failed in a way the user can act on."""


class DatabaseUnavailableError(StorageError):
    """The database cannot be opened or reached."""


class SchemaError(StorageError):
    """The database schema is at a revision this code does not know (usually: newer)."""


class LedgerConflict(StorageError):
    """Recording a digest clashed with one another process recorded first (nothing written)."""

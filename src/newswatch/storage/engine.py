"""Creating database engines: SQLite tuned for a daemon beside CLI commands, or PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from newswatch.errors import DatabaseUnavailableError

#: How long SQLite waits for another writer (the daemon, a CLI command) before failing.
SQLITE_BUSY_TIMEOUT_MS = 15_000


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***``, safe to print and log."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def make_engine(url: str, *, busy_timeout: float = SQLITE_BUSY_TIMEOUT_MS / 1000) -> Engine:
    """Create an engine for ``url`` (already normalised by the config).

    SQLite gets WAL journaling (readers never block the writer), foreign keys, a busy timeout
    and ``synchronous=NORMAL`` (safe with WAL); its folder is created if missing. PostgreSQL
    gets pre-ping so a restarted server is noticed.

    Raises:
        DatabaseUnavailableError: the SQLite folder cannot be created.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        memory = not database or database == ":memory:"
        if not memory and database is not None:
            folder = Path(database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailableError(
                    f"cannot create the database folder {folder}: {exc.strerror}"
                ) from None
        # File databases keep a few connections open in a pool (SQLAlchemy's default): a
        # pass over a thousand feeds is a thousand short transactions, and opening a
        # connection for each (PRAGMAs, then a WAL checkpoint when the last one closes) was
        # most of their cost. A connection goes back to the pool only after its transaction
        # ended, so an idle one holds no lock and no old snapshot.
        engine = create_engine(url, connect_args={"timeout": busy_timeout})
        milliseconds = int(busy_timeout * 1000)
        event.listen(
            engine,
            "connect",
            lambda connection, record: _sqlite_on_connect(connection, record, milliseconds),
        )
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _sqlite_on_connect(
    dbapi_connection: sqlite3.Connection, _record: Any, busy_timeout_ms: int
) -> None:
    # Let SQLAlchemy issue BEGIN itself (see _sqlite_on_begin): pysqlite's implicit
    # transactions would otherwise defer locking and break SAVEPOINTs.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


#: Execution option of a connection whose transaction only reads (``Storage._reading``).
READ_ONLY: Final = "newswatch_read_only"


def _sqlite_on_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock up front. A deferred transaction that reads and then
    # writes fails at once with "database is locked" (SQLITE_BUSY_SNAPSHOT, which the busy
    # timeout does not cover) when another connection wrote in between; the daemon's threads
    # and CLI commands beside it would hit that. Readers are not blocked in WAL mode, so a
    # transaction declared read-only begins deferred and waits for no writer.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

"""Running the Alembic migrations from inside newswatch.

The migration scripts ship inside the package (``newswatch/migrations``, the project's top-level
``alembic/`` folder), so an installed newswatch can bring any database up to date by itself.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from newswatch.errors import SchemaError

SCRIPT_LOCATION = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """An Alembic config pointing at newswatch's migrations, bound to ``connection``."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "newswatch ships at least one migration"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None``: an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def check_known(engine: Engine) -> str | None:
    """Refuse a database whose schema this code does not know (usually: a newer newswatch).

    Returns:
        The database's current revision.

    Raises:
        SchemaError: the revision is not among this code's migrations.
    """
    current = current_revision(engine)
    if current is None:
        return None
    script = ScriptDirectory.from_config(alembic_config())
    if not _known(script, current):
        raise SchemaError(
            f"the database schema is at revision {current}, which this newswatch "
            f"({head_revision()} is its newest) does not know: it was probably written by a "
            f"newer version; upgrade newswatch"
        )
    return current


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except Exception:
        return False


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (default: the newest).

    Raises:
        SchemaError: the database is at a revision this code does not know.
    """
    check_known(engine)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database down to ``revision`` (``base`` removes every table)."""
    check_known(engine)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)

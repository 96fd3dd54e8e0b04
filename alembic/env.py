"""Alembic environment for newswatch.

newswatch calls Alembic with an open connection in ``config.attributes["connection"]``; run by
hand (``alembic upgrade head``), the URL comes from ``$NEWSWATCH_DATABASE_URL`` or the newswatch
config file.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, text

from newswatch.storage.search import include_name
from newswatch.storage.tables import Base

config = context.config
target_metadata = Base.metadata

#: Any constant works; it only has to be the same for every newswatch process.
_MIGRATION_LOCK_KEY = 0x6E657773  # "news"


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # The full-text index (FTS5 table, tsvector column) is the migrations' alone.
        include_name=include_name,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Two daemons starting at once must not both migrate.
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
        context.run_migrations()


def _url_from_environment() -> str:
    from newswatch.config import default_config_path, load_config

    return load_config(default_config_path()).database.url


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    from newswatch.storage.engine import make_engine

    engine = make_engine(_url_from_environment())
    with engine.connect() as connection:
        _configure(connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("newswatch migrations run online only (they need a database connection)")
run_migrations_online()

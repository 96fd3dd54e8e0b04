"""Alembic migrations: up and down on both databases, no drift from the models, newer schemas."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from newswatch.errors import SchemaError
from newswatch.storage import migrations, open_storage
from newswatch.storage.engine import make_engine
from newswatch.storage.search import include_name
from newswatch.storage.tables import SCHEMA_HEAD, Base

TABLES = {
    "feeds",
    "articles",
    "stories",
    "topics",
    "article_topics",
    "digests",
    "digest_items",
    "deliveries",
}


def test_single_head() -> None:
    script = ScriptDirectory.from_config(migrations.alembic_config())
    assert len(script.get_heads()) == 1


def test_the_schema_head_the_code_knows_is_the_newest_migration() -> None:
    # Opening a database at SCHEMA_HEAD skips Alembic: a new migration must move it, or
    # databases would never get the new migration.
    assert migrations.head_revision() == SCHEMA_HEAD


def test_upgrade_and_downgrade(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrations.upgrade(engine)
        assert set(inspect(engine).get_table_names()) >= TABLES
        assert migrations.current_revision(engine) == migrations.head_revision()

        # The migrated schema is exactly what the models describe.
        with engine.connect() as connection:
            # The full-text index is the migrations' alone (as in alembic/env.py).
            opts = {"compare_type": True, "include_name": include_name}
            context = MigrationContext.configure(connection, opts=opts)
            assert compare_metadata(context, Base.metadata) == []

        migrations.downgrade(engine, "base")
        assert not TABLES & set(inspect(engine).get_table_names())
        assert migrations.current_revision(engine) is None

        migrations.upgrade(engine)  # and back up again
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_opening_migrates_and_is_idempotent(database_url: str) -> None:
    with open_storage(database_url) as storage:
        assert storage.revision() == migrations.head_revision()
    with open_storage(database_url) as storage:  # a second start changes nothing
        assert storage.upgrade() == (migrations.head_revision(), migrations.head_revision())


def test_opening_a_database_a_migration_behind_upgrades_it(database_url: str) -> None:
    with open_storage(database_url):
        pass
    engine = make_engine(database_url)
    try:
        migrations.downgrade(engine, "-1")
        assert migrations.current_revision(engine) != SCHEMA_HEAD
    finally:
        engine.dispose()
    with open_storage(database_url) as storage:
        assert storage.revision() == SCHEMA_HEAD


def test_database_from_a_newer_version_is_refused(database_url: str) -> None:
    with open_storage(database_url):
        pass
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    engine.dispose()
    with pytest.raises(SchemaError, match=r"revision f00dfeed.*newer version; upgrade newswatch"):
        open_storage(database_url)

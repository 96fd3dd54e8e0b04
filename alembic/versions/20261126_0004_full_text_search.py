"""full-text search over articles

SQLite: an FTS5 index ``articles_fts`` over title, summary and text. It keeps no copy of the
text: its content is the view ``articles_fts_source``, the articles that are not tombstones.
Three triggers keep it in step with ``articles``; a tombstone (``removed_at`` set) leaves it.
Because the view holds exactly what the index should, FTS5's own ``rebuild`` and
``integrity-check`` work against it. Tokenizer ``porter unicode61 remove_diacritics 2``: words
of every script, case and Latin accents folded, English stems.

PostgreSQL: a generated ``tsvector`` column ``articles.search_vector`` with a GIN index. It holds
the words of title (weight A), summary (B) and text (C) under ``newswatch_simple`` (every word,
lower case, accents folded) plus, for articles in a language PostgreSQL can stem, the same under
``newswatch_<language>``. Those text search configurations are copies of the built-in ones with
the ``unaccent`` dictionary in front when the server has that extension. A tombstone's vector
is empty.

Both are filled for the articles already stored. Nothing here is described by the ORM models:
``newswatch.storage.search.include_name`` keeps it out of ``alembic check``. A later migration
that rebuilds ``articles`` on SQLite (``batch_alter_table``) drops the triggers with the old
table and must create them again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 20:00:00
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Language code (the part of ``articles.language`` before any '-') → PostgreSQL stemmer.
LANGUAGES = {
    "en": "english",
    "ru": "russian",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
}
#: PostgreSQL refuses a tsvector over 1 MB: index at most this much of an article's text.
MAX_INDEXED_TEXT = 100_000

_FTS_COLUMNS = "title, summary, content_text"
_SQLITE_TRIGGERS = {
    "articles_fts_insert": f"""
        CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles
        WHEN new.removed_at IS NULL BEGIN
            INSERT INTO articles_fts (rowid, {_FTS_COLUMNS})
            VALUES (new.id, new.title, new.summary, new.content_text);
        END""",
    "articles_fts_delete": f"""
        CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles
        WHEN old.removed_at IS NULL BEGIN
            INSERT INTO articles_fts (articles_fts, rowid, {_FTS_COLUMNS})
            VALUES ('delete', old.id, old.title, old.summary, old.content_text);
        END""",
    # Only the indexed columns (and the tombstone mark) matter: tagging and clustering update
    # other columns of every article and must not rewrite the index.
    "articles_fts_update": f"""
        CREATE TRIGGER articles_fts_update
        AFTER UPDATE OF title, summary, content_text, removed_at ON articles BEGIN
            INSERT INTO articles_fts (articles_fts, rowid, {_FTS_COLUMNS})
            SELECT 'delete', old.id, old.title, old.summary, old.content_text
            WHERE old.removed_at IS NULL;
            INSERT INTO articles_fts (rowid, {_FTS_COLUMNS})
            SELECT new.id, new.title, new.summary, new.content_text
            WHERE new.removed_at IS NULL;
        END""",
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _upgrade_sqlite()
    else:
        _upgrade_postgresql()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
        op.execute("DROP VIEW IF EXISTS articles_fts_source")
        return
    op.execute("DROP INDEX IF EXISTS ix_articles_search_vector")
    op.execute("ALTER TABLE articles DROP COLUMN IF EXISTS search_vector")
    for name in ("simple", *LANGUAGES.values()):
        op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS newswatch_{name}")
    # The unaccent extension stays: other things in the database may use it.


def _upgrade_sqlite() -> None:
    op.execute(
        f"CREATE VIEW articles_fts_source AS SELECT id, {_FTS_COLUMNS} FROM articles "
        "WHERE removed_at IS NULL"
    )
    op.execute(
        f"CREATE VIRTUAL TABLE articles_fts USING fts5({_FTS_COLUMNS}, "
        "content='articles_fts_source', content_rowid='id', "
        "tokenize='porter unicode61 remove_diacritics 2')"
    )
    op.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")
    for statement in _SQLITE_TRIGGERS.values():
        op.execute(statement)


def _upgrade_postgresql() -> None:
    folds_accents = _create_unaccent()
    for name in ("simple", *LANGUAGES.values()):
        config = f"newswatch_{name}"
        op.execute(f"CREATE TEXT SEARCH CONFIGURATION {config} (COPY = pg_catalog.{name})")
        if folds_accents:
            # ASCII words have no accents; every other kind of word is folded first.
            stem = "simple" if name == "simple" else f"{name}_stem"
            op.execute(
                f"ALTER TEXT SEARCH CONFIGURATION {config} "
                f"ALTER MAPPING FOR word, hword, hword_part WITH unaccent, {stem}"
            )
            op.execute(
                f"ALTER TEXT SEARCH CONFIGURATION {config} "
                "ALTER MAPPING FOR numword, numhword, hword_numpart WITH unaccent, simple"
            )
    op.execute(
        "ALTER TABLE articles ADD COLUMN search_vector tsvector "
        f"GENERATED ALWAYS AS ({_vector_expression()}) STORED"
    )
    op.execute("CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)")


def _create_unaccent() -> bool:
    """Create the unaccent extension if the server has it and we may; say if it is there."""
    bind = op.get_bind()
    if bind.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'unaccent'")).scalar():
        return True
    available = bind.execute(
        text("SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent'")
    ).scalar()
    if not available:
        return False
    savepoint = bind.begin_nested()
    try:
        bind.execute(text("CREATE EXTENSION IF NOT EXISTS unaccent"))
    except DBAPIError:
        # Not allowed here (unaccent is a trusted extension from PostgreSQL 13; older servers
        # need a superuser): search then folds case but not accents.
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def _weighted(config: str) -> str:
    return (
        f"setweight(to_tsvector('{config}'::regconfig, title), 'A') || "
        f"setweight(to_tsvector('{config}'::regconfig, summary), 'B') || "
        f"setweight(to_tsvector('{config}'::regconfig, "
        f"left(content_text, {MAX_INDEXED_TEXT})), 'C')"
    )


def _vector_expression() -> str:
    # Every word as it is (simple), and its stem where the article's language has a stemmer.
    # The configurations are named as literals, so the expression holds their OIDs: it does not
    # depend on search_path (pg_restore runs with an empty one).
    stemmed = " ".join(
        f"WHEN '{code}' THEN {_weighted(f'newswatch_{name}')}" for code, name in LANGUAGES.items()
    )
    return (
        f"CASE WHEN removed_at IS NOT NULL THEN ''::tsvector ELSE "
        f"{_weighted('newswatch_simple')} || CASE split_part(lower(coalesce(language, '')), "
        f"'-', 1) {stemmed} ELSE ''::tsvector END END"
    )

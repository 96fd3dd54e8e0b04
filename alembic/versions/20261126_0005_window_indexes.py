"""indexes for digest selection and status on large databases

Two composite indexes on ``articles`` replace the single-column ones they start with:

- ``ix_articles_ingested_live (ingested_at, backlog, removed_at)`` (PostgreSQL: ``INCLUDE
  (id)``) in place of ``ix_articles_ingested_at``: a window of ingestion time filtered on
  backlog and tombstones from the index alone (digest candidates, topic activity and counts,
  retention), instead of reading every article row of the window.
- ``ix_articles_feed_ingested (feed_id, ingested_at, removed_at)`` in place of
  ``ix_articles_feed_id``: live articles per feed counted, and each feed's newest and recent
  articles found, without reading the table.

Plain ``CREATE INDEX``/``DROP INDEX`` on both databases: no ``batch_alter_table``, which on
SQLite would rebuild ``articles`` and drop the full-text triggers of migration 0004.

Also removes topic matches of tombstoned articles. Pruning deletes them and tagging no longer
stores any for a tombstone; one could only be left behind by a tagging run that raced a prune.
Status counts matches per topic from ``article_topics`` alone and relies on there being none.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 21:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_articles_ingested_live",
        "articles",
        ["ingested_at", "backlog", "removed_at"],
        unique=False,
        postgresql_include=["id"],
    )
    op.create_index(
        "ix_articles_feed_ingested",
        "articles",
        ["feed_id", "ingested_at", "removed_at"],
        unique=False,
    )
    op.drop_index("ix_articles_ingested_at", table_name="articles")
    op.drop_index("ix_articles_feed_id", table_name="articles")
    op.execute(
        "DELETE FROM article_topics WHERE article_id IN "
        "(SELECT id FROM articles WHERE removed_at IS NOT NULL)"
    )


def downgrade() -> None:
    op.create_index("ix_articles_feed_id", "articles", ["feed_id"], unique=False)
    op.create_index("ix_articles_ingested_at", "articles", ["ingested_at"], unique=False)
    op.drop_index("ix_articles_feed_ingested", table_name="articles")
    op.drop_index("ix_articles_ingested_live", table_name="articles")

"""articles remember the hash of the feed entry they were made from

``articles.source_hash`` (32 hex characters, NULL for the rows stored before it) and the
index ``ix_articles_feed_source (feed_id, source_hash)``. A fetch hashes each entry of the
document and looks the hashes up: an entry stored before exactly as it is now is not
normalised or tagged again. Rows from before this revision get their hash the next time
their feed is fetched with the entry unchanged.

Plain ``ADD COLUMN`` and ``CREATE INDEX`` on both databases (no ``batch_alter_table``, which
on SQLite would rebuild ``articles`` and drop the full-text triggers of migration 0004).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("source_hash", sa.String(length=32), nullable=True))
    op.create_index("ix_articles_feed_source", "articles", ["feed_id", "source_hash"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_articles_feed_source", table_name="articles")
    # SQLite can drop a column that no index, trigger or view uses (3.35+).
    op.drop_column("articles", "source_hash")

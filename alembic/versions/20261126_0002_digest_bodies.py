"""digest bodies and delivery claims

A digest keeps what was rendered when it was built, so a retried delivery sends the same content;
deliveries get a claim so two daemons never deliver the same one at once.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("digests") as batch:
        batch.add_column(sa.Column("subject", sa.Text(), nullable=True))
        batch.add_column(sa.Column("body_markdown", sa.Text(), nullable=True))
        batch.add_column(sa.Column("body_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("body_html", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("article_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("story_count", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("claimed_until")
    with op.batch_alter_table("digests") as batch:
        batch.drop_column("story_count")
        batch.drop_column("article_count")
        batch.drop_column("body_html")
        batch.drop_column("body_text")
        batch.drop_column("body_markdown")
        batch.drop_column("subject")

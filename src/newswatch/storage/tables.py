"""SQLAlchemy table definitions. Only ``newswatch.storage`` imports this module.

Every datetime column holds UTC (``UTCDateTime`` turns SQLite's naive values back into aware
ones). Ids are 64-bit on PostgreSQL and SQLite's rowid on SQLite; ``articles.id`` grows in
ingestion order, which digest selection relies on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: The newest migration, whose schema these tables describe. Opening a database at this revision
#: skips Alembic; ``tests/test_migrations.py`` fails when a new migration does not move it.
SCHEMA_HEAD: Final = "0006"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL keeps the zone (``timestamptz``); SQLite stores text without one, so values are
    converted to UTC on the way in and marked UTC on the way out. Naive datetimes are refused:
    they are a bug in the caller.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to storage; use UTC-aware values")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of every table; one MetaData with a naming convention that Alembic shares."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), str: Text()}


class FeedRow(Base):
    """A feed declared in the config, and its fetch state."""

    __tablename__ = "feeds"
    __table_args__ = (
        CheckConstraint("status IN ('new', 'ok', 'failing', 'disabled')", name="status"),
        Index("ix_feeds_due", "active", "next_fetch_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    declared_url: Mapped[str] = mapped_column(unique=True)
    url: Mapped[str]
    name: Mapped[str | None]
    title: Mapped[str | None]
    site_url: Mapped[str | None]
    status: Mapped[str] = mapped_column(String(16), default="new")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    interval_seconds: Mapped[int | None] = mapped_column(Integer)
    # The feed's own RSS <ttl>, remembered because 304s do not repeat it.
    ttl_seconds: Mapped[int | None] = mapped_column(Integer)
    full_text: Mapped[bool] = mapped_column(Boolean, default=False)
    backfill: Mapped[bool] = mapped_column(Boolean, default=False)
    # Conditional GET and change detection.
    etag: Mapped[str | None]
    last_modified: Mapped[str | None]
    body_hash: Mapped[str | None] = mapped_column(String(64))
    # A permanent redirect is adopted once seen on consecutive fetches.
    redirect_url: Mapped[str | None]
    redirect_count: Mapped[int] = mapped_column(Integer, default=0)
    # Health and schedule.
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None]
    last_error_at: Mapped[datetime | None]
    # A recoverable problem of the last document (malformed XML that still gave entries).
    last_problem: Mapped[str | None]
    last_fetched_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    next_fetch_at: Mapped[datetime | None]
    # Leases let several daemons share one PostgreSQL database without fetching twice.
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class StoryRow(Base):
    """A story cluster: articles from several outlets that carry the same news."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    title: Mapped[str]
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class ArticleRow(Base):
    """An article made from one feed entry; a tombstone once pruned or removed."""

    __tablename__ = "articles"
    __table_args__ = (
        UniqueConstraint("feed_id", "entry_key"),
        Index("ix_articles_canonical_url", "canonical_url"),
        Index("ix_articles_fingerprint", "fingerprint"),
        Index("ix_articles_tagged_at", "tagged_at"),
        # Digest selection, topic activity and counts, retention: a time window of articles
        # filtered on backlog and tombstones without reading the rows (``id`` rides along:
        # SQLite's rowid is in every index, PostgreSQL needs it included for index-only scans).
        Index(
            "ix_articles_ingested_live",
            "ingested_at",
            "backlog",
            "removed_at",
            postgresql_include=["id"],
        ),
        # Per feed: live articles counted, and the newest and recent ones, from the index alone.
        Index("ix_articles_feed_ingested", "feed_id", "ingested_at", "removed_at"),
        # A fetch finds the entries it has already made into articles by their source hash.
        Index("ix_articles_feed_source", "feed_id", "source_hash"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    entry_key: Mapped[str]
    guid: Mapped[str | None]
    url: Mapped[str | None]
    canonical_url: Mapped[str | None]
    title: Mapped[str]
    summary: Mapped[str] = mapped_column(default="")
    content_text: Mapped[str] = mapped_column(default="")
    content_html: Mapped[str] = mapped_column(default="")
    author: Mapped[str | None]
    language: Mapped[str | None] = mapped_column(String(16))
    published_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    date_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    simhash: Mapped[int | None] = mapped_column(BigInteger)
    # Hash of the feed entry the article was made from; NULL for rows older than it.
    source_hash: Mapped[str | None] = mapped_column(String(32))
    backlog: Mapped[bool] = mapped_column(Boolean, default=False)
    story_id: Mapped[int | None] = mapped_column(
        ForeignKey("stories.id", ondelete="SET NULL"), index=True
    )
    ingested_at: Mapped[datetime]
    # When the article was last tagged; NULL: never (``tag`` picks these up).
    tagged_at: Mapped[datetime | None]
    # Tombstone: the content is gone (retention, or the entry left the feed) but the identity
    # stays so the entry never comes back as new.
    removed_at: Mapped[datetime | None]


class TopicRow(Base):
    """A topic definition; ``version`` grows whenever the definition changes."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str]
    description: Mapped[str] = mapped_column(default="")
    query: Mapped[str]
    exclude: Mapped[str | None]
    threshold: Mapped[float] = mapped_column(Float)
    definition_hash: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime]


class ArticleTopicRow(Base):
    """An article matched a topic: score and evidence."""

    __tablename__ = "article_topics"
    __table_args__ = (Index("ix_article_topics_topic_score", "topic_id", "score"),)

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )
    score: Mapped[float] = mapped_column(Float)
    # [{"term", "field", "position"}, …]
    evidence: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    snippet: Mapped[str | None]
    topic_version: Mapped[int] = mapped_column(Integer)
    matched_at: Mapped[datetime]


class DigestRow(Base):
    """One digest of one channel: its period and delivery state. The ledger's header."""

    __tablename__ = "digests"
    __table_args__ = (
        UniqueConstraint("channel", "period_end"),
        CheckConstraint("status IN ('pending', 'sent', 'empty', 'failed')", name="status"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    channel: Mapped[str] = mapped_column(String(100))
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # Fixed when the digest is built, so a retried email is recognisably the same message.
    message_id: Mapped[str | None]
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    # What was rendered when the digest was built: a retry delivers exactly this.
    subject: Mapped[str | None]
    body_markdown: Mapped[str | None]
    body_text: Mapped[str | None]
    body_html: Mapped[str | None]
    article_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    story_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DigestItemRow(Base):
    """An article placed in a digest. ``(channel, article_id)`` is unique: exactly once."""

    __tablename__ = "digest_items"
    __table_args__ = (UniqueConstraint("channel", "article_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(100))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    topic_slug: Mapped[str | None] = mapped_column(String(100))
    rank: Mapped[int] = mapped_column(Integer)


class DeliveryRow(Base):
    """One delivery of a digest (a Markdown file, an email) and its attempts."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("digest_id", "kind", "target"),
        CheckConstraint("status IN ('pending', 'done', 'failed')", name="status"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None]
    next_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    # A worker delivering this holds it until then, so two daemons never send it at once.
    claimed_until: Mapped[datetime | None]


class DaemonRow(Base):
    """A running (or lately running) ``newswatch run`` process and its heartbeat."""

    __tablename__ = "daemons"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    hostname: Mapped[str]
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(50))
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]

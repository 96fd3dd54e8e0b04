"""Turning ORM rows into the plain dataclasses that leave ``newswatch.storage``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from newswatch.model import (
    Article,
    Delivery,
    DeliveryStatus,
    Digest,
    DigestItem,
    DigestStatus,
    Evidence,
    Feed,
    FeedStatus,
)
from newswatch.storage.tables import ArticleRow, DeliveryRow, DigestItemRow, DigestRow, FeedRow

CONTENT_FIELDS = (
    "guid",
    "url",
    "canonical_url",
    "title",
    "summary",
    "content_text",
    "content_html",
    "author",
    "language",
    "published_at",
    "updated_at",
    "date_estimated",
    "fingerprint",
    "simhash",
    "source_hash",
)


def evidence_of(item: object) -> Evidence:
    """A match's evidence item as stored (JSON) back into an ``Evidence``."""
    if isinstance(item, dict):
        return Evidence(
            str(item.get("term", "")), str(item.get("field", "")), int(item.get("position", 0))
        )
    return Evidence(str(item), "", 0)  # a bare term, as older rows may hold


def utc(value: datetime) -> datetime:
    """``value`` in UTC; naive values are a caller's bug."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} given to storage; use UTC-aware values")
    return value.astimezone(UTC)


def article_of(row: ArticleRow) -> Article:
    """An article row as an ``Article``."""
    base = Article(
        feed_id=row.feed_id,
        entry_key=row.entry_key,
        title=row.title,
        backlog=row.backlog,
        ingested_at=row.ingested_at,
        story_id=row.story_id,
        id=row.id,
    )
    return replace(base, **{name: getattr(row, name) for name in CONTENT_FIELDS})


#: Every column ``article_of_columns`` reads, for queries that select plain rows.
ARTICLE_COLUMNS = (
    ArticleRow.feed_id,
    ArticleRow.entry_key,
    ArticleRow.backlog,
    ArticleRow.ingested_at,
    ArticleRow.story_id,
    ArticleRow.id,
    *(getattr(ArticleRow, name) for name in CONTENT_FIELDS),  # the title among them
)


def article_of_columns(row: Row[*tuple[Any, ...]]) -> Article:
    """A row of ``ARTICLE_COLUMNS`` (and maybe more) as an ``Article``: what ``article_of``
    makes of an ``ArticleRow``, without building the ORM instance first."""
    return Article(
        feed_id=row.feed_id,
        entry_key=row.entry_key,
        title=row.title,
        url=row.url,
        canonical_url=row.canonical_url,
        guid=row.guid,
        summary=row.summary,
        content_text=row.content_text,
        content_html=row.content_html,
        author=row.author,
        language=row.language,
        published_at=row.published_at,
        updated_at=row.updated_at,
        date_estimated=row.date_estimated,
        fingerprint=row.fingerprint,
        simhash=row.simhash,
        source_hash=row.source_hash,
        backlog=row.backlog,
        ingested_at=row.ingested_at,
        story_id=row.story_id,
        id=row.id,
    )


def digest_of(session: Session, row: DigestRow, *, items: bool = True) -> Digest:
    """A digest row with its deliveries and (unless ``items`` is false) its items in rank order."""
    item_rows = (
        session.execute(
            select(DigestItemRow.article_id, DigestItemRow.topic_slug, DigestItemRow.rank)
            .where(DigestItemRow.digest_id == row.id)
            .order_by(DigestItemRow.rank)
        ).all()
        if items
        else []
    )
    deliveries = session.scalars(
        select(DeliveryRow).where(DeliveryRow.digest_id == row.id).order_by(DeliveryRow.id)
    )
    return Digest(
        id=row.id,
        channel=row.channel,
        period_start=row.period_start,
        period_end=row.period_end,
        status=DigestStatus(row.status),
        created_at=row.created_at,
        message_id=row.message_id,
        items=tuple(DigestItem(i.article_id, i.topic_slug, i.rank) for i in item_rows),
        deliveries=tuple(
            Delivery(
                kind=d.kind,
                target=d.target,
                status=DeliveryStatus(d.status),
                attempts=d.attempts,
                last_error=d.last_error,
                delivered_at=d.delivered_at,
                next_attempt_at=d.next_attempt_at,
                id=d.id,
            )
            for d in deliveries
        ),
        subject=row.subject,
        article_count=row.article_count,
        story_count=row.story_count,
        completed_at=row.completed_at,
    )


def feed_of(row: FeedRow | Row[*tuple[Any, ...]], articles: int) -> Feed:
    """A feed row (and its article count) as a ``Feed``; ``row`` may be a plain row of the
    table's columns."""
    return Feed(
        id=row.id,
        declared_url=row.declared_url,
        url=row.url,
        name=row.name,
        title=row.title,
        site_url=row.site_url,
        status=FeedStatus(row.status),
        active=row.active,
        interval_seconds=row.interval_seconds,
        full_text=row.full_text,
        backfill=row.backfill,
        etag=row.etag,
        last_modified=row.last_modified,
        body_hash=row.body_hash,
        redirect_url=row.redirect_url,
        redirect_count=row.redirect_count,
        consecutive_failures=row.consecutive_failures,
        last_error=row.last_error,
        last_problem=row.last_problem,
        last_fetched_at=row.last_fetched_at,
        last_success_at=row.last_success_at,
        next_fetch_at=row.next_fetch_at,
        created_at=row.created_at,
        articles=int(articles),
        ttl_seconds=row.ttl_seconds,
    )

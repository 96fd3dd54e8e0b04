"""The digest ledger: which articles went into which digest, and how each delivery went.

Exactly-once rests on two unique constraints, not on care: ``digest_items (channel,
article_id)`` (an article enters one digest of a channel) and ``digests (channel, period_end)``
(a schedule slot is built once, whichever process gets there first). A digest, its items, its
rendered bodies and its pending deliveries are written in one transaction; a delivery is
claimed before it is attempted, so two daemons never send the same one at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from newswatch.errors import LedgerConflict
from newswatch.model import (
    Article,
    Delivery,
    DeliveryStatus,
    Digest,
    DigestBody,
    DigestCandidate,
    DigestItem,
    DigestStatus,
    Feed,
    FeedActivity,
    StoryMember,
    TopicMatch,
)
from newswatch.storage.rows import (
    ARTICLE_COLUMNS,
    article_of_columns,
    digest_of,
    evidence_of,
    feed_of,
)
from newswatch.storage.tables import (
    ArticleRow,
    ArticleTopicRow,
    DeliveryRow,
    DigestItemRow,
    DigestRow,
    FeedRow,
    TopicRow,
)

_OUTLET = func.coalesce(FeedRow.name, FeedRow.title, FeedRow.url)


class DigestLedger:
    """Digest and delivery methods of ``Storage`` (which provides the transaction)."""

    def _transaction(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    def _reading(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    # -- what may go into a digest -----------------------------------------------------------

    def digest_candidates(
        self,
        channel: str,
        *,
        since: datetime,
        until: datetime,
        topics: Sequence[str] | None = None,
        min_score: float | None = None,
    ) -> list[DigestCandidate]:
        """Articles owed to ``channel``: matched, live, not backlog, in no digest of it yet.

        Only articles ingested in ``(since, until]`` are considered, oldest first (ingestion
        order). Each comes with its matches among ``topics`` (all active topics if ``None``)
        scoring at least ``min_score``.
        """
        match_filter: list[ColumnElement[bool]] = [TopicRow.active.is_(True)]
        if topics is not None:
            match_filter.append(TopicRow.slug.in_(list(topics)))
        if min_score is not None:
            match_filter.append(ArticleTopicRow.score >= min_score)
        taken = exists().where(
            DigestItemRow.channel == channel, DigestItemRow.article_id == ArticleRow.id
        )
        matched = exists().where(
            ArticleTopicRow.article_id == ArticleRow.id,
            ArticleTopicRow.topic_id == TopicRow.id,
            *match_filter,
        )
        with self._reading() as session:
            # The ids first, from ix_articles_ingested_live and the two lookups alone: most
            # articles of the window are unmatched or already sent, so their rows are not read.
            ids = list(
                session.scalars(
                    select(ArticleRow.id)
                    .where(
                        ArticleRow.ingested_at > since,
                        ArticleRow.ingested_at <= until,
                        ArticleRow.removed_at.is_(None),
                        ArticleRow.backlog.is_(False),
                        matched,
                        ~taken,
                    )
                    .order_by(ArticleRow.id)
                )
            )
            # Plain columns, not ORM entities: building 4,000 instances cost more than the
            # queries themselves.
            articles: list[tuple[Article, str]] = []
            for chunk in _chunks(ids):
                articles.extend(
                    (article_of_columns(row), str(row.outlet))
                    for row in session.execute(
                        select(*ARTICLE_COLUMNS, _OUTLET.label("outlet"))
                        .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
                        .where(ArticleRow.id.in_(chunk))
                        .order_by(ArticleRow.id)
                    )
                )
            matches: dict[int, list[TopicMatch]] = {}
            for chunk in _chunks(ids):
                found = session.execute(
                    select(
                        ArticleTopicRow.article_id,
                        TopicRow.slug,
                        ArticleTopicRow.score,
                        ArticleTopicRow.evidence,
                        ArticleTopicRow.snippet,
                        ArticleTopicRow.topic_version,
                    )
                    .join(TopicRow, TopicRow.id == ArticleTopicRow.topic_id)
                    .where(ArticleTopicRow.article_id.in_(chunk), *match_filter)
                )
                for article_id, slug, score, evidence, snippet, version in found:
                    matches.setdefault(article_id, []).append(
                        TopicMatch(
                            article_id=article_id,
                            topic_slug=slug,
                            score=score,
                            evidence=tuple(evidence_of(e) for e in evidence or ()),
                            snippet=snippet,
                            topic_version=version,
                        )
                    )
            return [
                DigestCandidate(
                    article=article,
                    outlet=outlet,
                    matches=tuple(sorted(matches.get(article.id or 0, ()), key=lambda m: -m.score)),
                )
                for article, outlet in articles
            ]

    def story_members(self, story_ids: Sequence[int]) -> list[StoryMember]:
        """Every live article of the given stories, with its outlet, oldest first."""
        members: list[StoryMember] = []
        with self._reading() as session:
            for chunk in _chunks(sorted(set(story_ids))):
                rows = session.execute(
                    select(
                        ArticleRow.story_id,
                        ArticleRow.id,
                        ArticleRow.feed_id,
                        _OUTLET,
                        ArticleRow.title,
                        ArticleRow.url,
                    )
                    .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
                    .where(ArticleRow.story_id.in_(chunk), ArticleRow.removed_at.is_(None))
                    .order_by(ArticleRow.id)
                )
                members.extend(
                    StoryMember(int(sid or 0), aid, fid, str(outlet), title, url)
                    for sid, aid, fid, outlet, title, url in rows
                )
        return members

    def topic_activity(self, since: datetime, until: datetime) -> list[tuple[str, datetime]]:
        """``(topic slug, ingested_at)`` of every non-backlog match ingested in the window."""
        with self._reading() as session:
            rows = session.execute(
                select(TopicRow.slug, ArticleRow.ingested_at)
                .join(ArticleTopicRow, ArticleTopicRow.topic_id == TopicRow.id)
                .join(ArticleRow, ArticleRow.id == ArticleTopicRow.article_id)
                .where(
                    ArticleRow.ingested_at > since,
                    ArticleRow.ingested_at <= until,
                    ArticleRow.backlog.is_(False),
                )
            )
            return [(slug, when) for slug, when in rows]

    def topic_trends(self, end: datetime, days: int) -> dict[str, tuple[int, ...]]:
        """Non-backlog matches per topic in each of the ``days`` 24-hour windows before ``end``.

        Returns:
            Per topic slug with any match, ``days`` counts, oldest window first: window ``i``
            holds matches ingested in ``(end - (days - i)·24 h, end - (days - 1 - i)·24 h]``.
            Counted in the database: a digest's trend lines covered ~20,000 matches a week.
        """
        day = timedelta(days=1)
        window = case(
            *((ArticleRow.ingested_at > end - (k + 1) * day, days - 1 - k) for k in range(days)),
            else_=-1,
        ).label("window")
        matches = (
            select(TopicRow.slug.label("slug"), window)
            .join(ArticleTopicRow, ArticleTopicRow.topic_id == TopicRow.id)
            .join(ArticleRow, ArticleRow.id == ArticleTopicRow.article_id)
            .where(
                ArticleRow.ingested_at > end - days * day,
                ArticleRow.ingested_at <= end,
                ArticleRow.backlog.is_(False),
            )
            .subquery()
        )
        # Grouped outside: PostgreSQL would not see that a CASE with its own bound parameters
        # in GROUP BY is the one selected.
        counts: dict[str, list[int]] = {}
        with self._reading() as session:
            rows = session.execute(
                select(matches.c.slug, matches.c.window, func.count()).group_by(
                    matches.c.slug, matches.c.window
                )
            )
            for slug, index, count in rows:
                if 0 <= index < days:
                    counts.setdefault(slug, [0] * days)[index] = int(count)
        return {slug: tuple(values) for slug, values in counts.items()}

    def feed_states(self) -> list[Feed]:
        """Every feed the config declares, without article counts (``articles`` is 0).

        What a digest's feed health needs: ``list_feeds`` counts each feed's articles from an
        index, and ORM rows cost more to build than these plain ones.
        """
        with self._reading() as session:
            rows = session.execute(
                select(*FeedRow.__table__.columns)
                .where(FeedRow.active.is_(True))
                .order_by(FeedRow.id)
            )
            return [feed_of(row, 0) for row in rows]

    def feed_activity(self, since: datetime) -> list[FeedActivity]:
        """Per active feed: articles stored since ``since`` and its newest article's time."""
        # One lookup per feed in ix_articles_feed_ingested (the newest is its last entry, the
        # recent ones a range), not a pass over every article grouped by feed.
        per_feed = ArticleRow.feed_id == FeedRow.id
        newest = select(func.max(ArticleRow.ingested_at)).where(per_feed).scalar_subquery()
        recent = (
            select(func.count())
            .select_from(ArticleRow)
            .where(per_feed, ArticleRow.ingested_at > since)
            .scalar_subquery()
        )
        with self._reading() as session:
            rows = session.execute(
                select(FeedRow.id, recent, newest)
                .where(FeedRow.active.is_(True))
                .order_by(FeedRow.id)
            )
            return [FeedActivity(fid, int(count or 0), last) for fid, count, last in rows]

    # -- recording ---------------------------------------------------------------------------

    def record_digest(
        self,
        channel: str,
        *,
        period_start: datetime | None,
        period_end: datetime,
        items: Sequence[DigestItem],
        deliveries: Sequence[Delivery],
        now: datetime,
        message_id: str | None = None,
        body: DigestBody | None = None,
        story_count: int = 0,
    ) -> Digest:
        """Record a built digest, its items, bodies and pending deliveries in one transaction.

        The ledger's unique constraints make this exactly-once: an article already in a digest
        of ``channel``, or a second digest for the same period end, makes the whole call fail
        with ``LedgerConflict`` and record nothing. A digest without items and
        without deliveries is complete at once (``empty``).
        """
        status = DigestStatus.PENDING if items or deliveries else DigestStatus.EMPTY
        try:
            return self._insert_digest(
                DigestRow(
                    channel=channel,
                    period_start=period_start,
                    period_end=period_end,
                    status=status.value,
                    message_id=message_id,
                    created_at=now,
                    completed_at=now if status is DigestStatus.EMPTY else None,
                    subject=body.subject if body else None,
                    body_markdown=body.markdown if body else None,
                    body_text=body.text if body else None,
                    body_html=body.html if body else None,
                    article_count=len(items),
                    story_count=story_count,
                ),
                items,
                deliveries,
            )
        except IntegrityError:
            raise LedgerConflict(
                f"digest {channel!r} ending {period_end.isoformat()} clashed with one "
                "recorded by another process"
            ) from None

    def _insert_digest(
        self, digest: DigestRow, items: Sequence[DigestItem], deliveries: Sequence[Delivery]
    ) -> Digest:
        channel = digest.channel
        with self._transaction() as session:
            session.add(digest)
            session.flush()
            if items:  # one multi-row INSERT, not an ORM object per item (a digest has ~1,700)
                session.execute(
                    insert(DigestItemRow),
                    [
                        {
                            "digest_id": digest.id,
                            "channel": channel,
                            "article_id": item.article_id,
                            "topic_slug": item.topic_slug,
                            "rank": item.rank,
                        }
                        for item in items
                    ],
                )
            session.add_all(
                DeliveryRow(
                    digest_id=digest.id,
                    kind=d.kind,
                    target=d.target,
                    status=d.status.value,
                    attempts=d.attempts,
                )
                for d in deliveries
            )
            session.flush()
            return digest_of(session, digest)

    # -- reading -----------------------------------------------------------------------------

    def get_digest(self, digest_id: int) -> Digest | None:
        """A digest with its items (in rank order) and deliveries."""
        with self._reading() as session:
            row = session.get(DigestRow, digest_id)
            return None if row is None else digest_of(session, row)

    def digest_at(self, channel: str, period_end: datetime) -> Digest | None:
        """The digest of ``channel`` for the slot ending at ``period_end``, if one was built."""
        with self._reading() as session:
            row = session.scalar(
                select(DigestRow).where(
                    DigestRow.channel == channel, DigestRow.period_end == period_end
                )
            )
            return None if row is None else digest_of(session, row)

    def digest_body(self, digest_id: int) -> DigestBody | None:
        """What the digest looked like when it was built; ``None`` if it was not kept."""
        with self._reading() as session:
            row = session.get(DigestRow, digest_id)
            if row is None or row.body_markdown is None:
                return None
            return DigestBody(
                subject=row.subject or "",
                markdown=row.body_markdown,
                text=row.body_text or "",
                html=row.body_html or "",
            )

    def last_digest(self, channel: str, *, items: bool = True) -> Digest | None:
        """The most recent digest of ``channel``, whatever its state.

        Args:
            items: load its items too (a daily digest has thousands; where it ended needs none).
        """
        with self._reading() as session:
            row = session.scalar(
                select(DigestRow)
                .where(DigestRow.channel == channel)
                .order_by(DigestRow.period_end.desc())
                .limit(1)
            )
            return None if row is None else digest_of(session, row, items=items)

    def list_digests(self, channel: str | None = None, *, limit: int = 20) -> list[Digest]:
        """The newest digests (of one channel, or all), newest first, without their items."""
        with self._reading() as session:
            query = select(DigestRow).order_by(DigestRow.period_end.desc(), DigestRow.id.desc())
            if channel is not None:
                query = query.where(DigestRow.channel == channel)
            rows = session.scalars(query.limit(limit)).all()
            return [digest_of(session, row, items=False) for row in rows]

    def digests_between(self, channel: str, start: datetime, end: datetime) -> int:
        """How many digests of ``channel`` end in ``[start, end)``."""
        with self._reading() as session:
            return int(
                session.scalar(
                    select(func.count()).where(
                        DigestRow.channel == channel,
                        DigestRow.period_end >= start,
                        DigestRow.period_end < end,
                    )
                )
                or 0
            )

    def delivery_target_taken(self, kind: str, target: str) -> bool:
        """Whether a digest already delivers (or delivered) to ``target`` (a file path)."""
        with self._reading() as session:
            return (
                session.scalar(
                    select(DeliveryRow.id)
                    .where(DeliveryRow.kind == kind, DeliveryRow.target == target)
                    .limit(1)
                )
                is not None
            )

    def unfinished_digests(self, channel: str) -> list[Digest]:
        """Digests of ``channel`` with a delivery still pending, oldest first."""
        with self._reading() as session:
            rows = session.scalars(
                select(DigestRow)
                .where(
                    DigestRow.channel == channel,
                    exists().where(
                        DeliveryRow.digest_id == DigestRow.id,
                        DeliveryRow.status == DeliveryStatus.PENDING.value,
                    ),
                )
                .order_by(DigestRow.period_end)
            ).all()
            return [digest_of(session, row) for row in rows]

    # -- delivering --------------------------------------------------------------------------

    def claim_delivery(
        self, delivery_id: int, now: datetime, until: datetime, *, due_only: bool = True
    ) -> bool:
        """Take a pending delivery for an attempt, until ``until``; ``False`` if not ours.

        Another worker's unexpired claim, a finished delivery or (with ``due_only``) a retry
        time still in the future all refuse the claim. The claim is one conditional UPDATE, so
        two processes racing for it cannot both win.
        """
        conditions = [
            DeliveryRow.id == delivery_id,
            DeliveryRow.status == DeliveryStatus.PENDING.value,
            or_(DeliveryRow.claimed_until.is_(None), DeliveryRow.claimed_until <= now),
        ]
        if due_only:
            conditions.append(
                or_(DeliveryRow.next_attempt_at.is_(None), DeliveryRow.next_attempt_at <= now)
            )
        with self._transaction() as session:
            result = session.execute(
                update(DeliveryRow).where(and_(*conditions)).values(claimed_until=until)
            )
            return bool(getattr(result, "rowcount", 0))

    def release_delivery_claims(self) -> int:
        """Drop every claim on pending deliveries (the only daemon of a SQLite database,
        starting after a crash: whoever held them is dead)."""
        with self._transaction() as session:
            result = session.execute(
                update(DeliveryRow)
                .where(
                    DeliveryRow.status == DeliveryStatus.PENDING.value,
                    DeliveryRow.claimed_until.is_not(None),
                )
                .values(claimed_until=None)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def finish_delivery(
        self,
        delivery_id: int,
        now: datetime,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> Digest:
        """Record an attempt: done (no ``error``), to retry at ``retry_at``, or failed for good.

        The digest's own status follows in the same transaction: ``sent`` (or ``empty``) once
        every delivery is done, ``failed`` once none is pending and one failed.
        """
        with self._transaction() as session:
            delivery = session.get(DeliveryRow, delivery_id)
            if delivery is None:
                raise LookupError(f"no delivery {delivery_id}")
            delivery.attempts += 1
            delivery.claimed_until = None
            if error is None:
                delivery.status = DeliveryStatus.DONE.value
                delivery.delivered_at = now
                delivery.last_error = None
                delivery.next_attempt_at = None
            else:
                delivery.last_error = error
                delivery.next_attempt_at = retry_at
                if retry_at is None:
                    delivery.status = DeliveryStatus.FAILED.value
            session.flush()
            digest = session.get_one(DigestRow, delivery.digest_id)
            states = set(
                session.scalars(
                    select(DeliveryRow.status).where(DeliveryRow.digest_id == digest.id)
                )
            )
            if DeliveryStatus.PENDING.value not in states:
                if DeliveryStatus.FAILED.value in states:
                    digest.status = DigestStatus.FAILED.value
                elif digest.article_count:
                    digest.status = DigestStatus.SENT.value
                else:
                    digest.status = DigestStatus.EMPTY.value
                digest.completed_at = now
            session.flush()
            return digest_of(session, digest)


def _chunks(values: Sequence[int], size: int = 500) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]

"""The storage interface: the one place that speaks SQL.

Rules every method keeps:

- It takes and returns plain dataclasses from ``newswatch.model``; ORM rows never leave.
- It is one transaction: it commits as a whole or not at all, so a process killed at any point
  leaves the database as it was before or after the call, never between.
- Datetimes in and out are timezone-aware UTC; ``now`` is passed in by the caller, never read
  from the clock here, so callers (and tests) control time.
- A ``Storage`` may be shared by threads: each call opens its own session.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple, TypeVar, cast

from sqlalchemy import (
    Engine,
    Row,
    Select,
    Table,
    Update,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, NoResultFound, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from newswatch.errors import DatabaseUnavailableError
from newswatch.model import (
    Article,
    Feed,
    FeedDeclaration,
    FeedStatus,
    FeedUpdate,
    IngestResult,
    Story,
    StoryGroup,
    StorySignature,
    TopicCount,
    TopicDefinition,
    TopicMatch,
)
from newswatch.storage.engine import READ_ONLY, make_engine, mask_url
from newswatch.storage.ledger import DigestLedger
from newswatch.storage.operations import DaemonSupport
from newswatch.storage.rows import CONTENT_FIELDS, article_of, evidence_of, feed_of, utc
from newswatch.storage.search import ArticleSearch
from newswatch.storage.tables import (
    SCHEMA_HEAD,
    ArticleRow,
    ArticleTopicRow,
    FeedRow,
    StoryRow,
    TopicRow,
)

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class FeedSyncResult:
    """What mirroring the configured feeds into the database changed."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    deactivated: tuple[str, ...] = ()
    reactivated: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether anything changed at all."""
        return bool(self.added or self.updated or self.deactivated or self.reactivated)


@dataclass(frozen=True, slots=True)
class StorageAddress:
    """Where a ``Storage`` lives, to open it again in another process (the URL may hold a
    password: it is left out of the repr)."""

    url: str = field(repr=False)
    busy_timeout: float = 15.0

    def open(self) -> Storage:
        """Connect (the schema is taken as up to date: the first process migrated it)."""
        return Storage.open(self.url, migrate=False, busy_timeout=self.busy_timeout)


class Storage(DigestLedger, DaemonSupport, ArticleSearch):
    """newswatch's database: feeds and their state, articles, topics, matches, digests."""

    def __init__(self, engine: Engine, url: str, busy_timeout: float = 15.0) -> None:
        self._engine = engine
        self._url = url
        self._busy_timeout = busy_timeout
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def address(self) -> StorageAddress:
        """How another process opens this database."""
        return StorageAddress(self._url, self._busy_timeout)

    @classmethod
    def open(cls, url: str, *, migrate: bool = True, busy_timeout: float = 15.0) -> Storage:
        """Connect to the database at ``url`` and, by default, bring its schema up to date.

        Raises:
            DatabaseUnavailableError: the database cannot be reached or opened.
            SchemaError: the database was written by a newer newswatch.
        """
        engine = make_engine(url, busy_timeout=busy_timeout)
        storage = cls(engine, url, busy_timeout)
        try:
            # Read-only: on SQLite, opening never waits for another process's write lock.
            with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
                connection.execute(text("SELECT 1"))
            if migrate and not storage._at_head():
                storage.upgrade()
        except (OperationalError, DBAPIError) as exc:
            engine.dispose()
            raise DatabaseUnavailableError(
                f"cannot open database {mask_url(url)}: {_db_reason(exc)}"
            ) from None
        except BaseException:
            engine.dispose()
            raise
        return storage

    @property
    def url(self) -> str:
        """The database URL with its password masked."""
        return mask_url(self._url)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    def close(self) -> None:
        """Release every connection."""
        self._engine.dispose()

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def revision(self) -> str | None:
        """The schema revision the database is at."""
        from newswatch.storage import migrations  # Alembic: not needed by worker processes

        return migrations.current_revision(self._engine)

    def _at_head(self) -> bool:
        """Whether the schema is at ``SCHEMA_HEAD``, read without Alembic (which costs every
        command about 0.1 s to import and to read its scripts). Any doubt says no, and the
        caller asks Alembic."""
        try:
            with self._engine.connect().execution_options(**{READ_ONLY: True}) as connection:
                versions = connection.execute(text("SELECT version_num FROM alembic_version"))
                return versions.scalars().all() == [SCHEMA_HEAD]
        except DBAPIError:  # no version table yet: an empty database
            return False

    def upgrade(self) -> tuple[str | None, str | None]:
        """Apply every pending migration.

        Returns:
            The revision before and after.

        Raises:
            SchemaError: the database is at a revision this code does not know.
        """
        from newswatch.storage import migrations

        before = self.revision()
        migrations.upgrade(self._engine)
        return before, self.revision()

    @contextmanager
    def _transaction(self, *, read_only: bool = False) -> Iterator[Session]:
        """A transaction; ``read_only``: one that only reads, which on SQLite takes no write
        lock, so it neither waits for a writer nor holds one up (a worker looking up a feed's
        entries while another worker stores its feed, a search beside the daemon)."""
        try:
            with self._sessions() as session, session.begin():
                if read_only:
                    session.connection(execution_options={READ_ONLY: True})
                yield session
        except OperationalError as exc:
            raise DatabaseUnavailableError(
                f"database {self.url} failed: {_db_reason(exc)}"
            ) from None

    def _reading(self) -> AbstractContextManager[Session]:
        """``_transaction(read_only=True)``."""
        return self._transaction(read_only=True)

    # -- feeds ------------------------------------------------------------------------------

    def sync_feeds(self, declared: Sequence[FeedDeclaration], now: datetime) -> FeedSyncResult:
        """Mirror the feeds the config declares.

        New feeds are added (status ``new``, due now); changed settings are updated; feeds no
        longer declared are deactivated, never deleted, so their articles and history stay.
        """
        wanted = {d.url: d for d in declared}
        # Every command opens the monitor with this, nearly always with nothing to change: it
        # reads first, so that `status` or a preview does not queue for a daemon's write lock.
        with self._reading() as session:
            if not _feed_changes(_feeds_by_declared_url(session), wanted).changed:
                return FeedSyncResult()
        with self._transaction() as session:
            _serialize(session, "sync_feeds")
            rows = _feeds_by_declared_url(session)
            changes = _feed_changes(rows, wanted)
            for url in changes.added:
                decl = wanted[url]
                session.add(
                    FeedRow(
                        declared_url=url,
                        url=url,
                        name=decl.name,
                        status=FeedStatus.NEW.value,
                        active=True,
                        interval_seconds=decl.interval_seconds,
                        full_text=decl.full_text,
                        backfill=decl.backfill,
                        redirect_count=0,
                        consecutive_failures=0,
                        next_fetch_at=now,
                        created_at=now,
                        updated_at=now,
                    )
                )
            for url in changes.reactivated:
                rows[url].active = True
                rows[url].next_fetch_at = now
            for url in changes.updated:
                row = rows[url]
                row.name, row.interval_seconds, row.full_text, row.backfill = _settings(wanted[url])
                row.updated_at = now
            for url in changes.deactivated:
                rows[url].active = False
                rows[url].updated_at = now
        return changes

    def list_feeds(self, *, include_inactive: bool = False) -> list[Feed]:
        """Every feed the config declares (and, on request, those it no longer does)."""
        counts = (
            select(ArticleRow.feed_id, func.count().label("n"))
            .where(ArticleRow.removed_at.is_(None))
            .group_by(ArticleRow.feed_id)
            .subquery()
        )
        query = (
            select(FeedRow, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.feed_id == FeedRow.id)
            .order_by(FeedRow.id)
        )
        if not include_inactive:
            query = query.where(FeedRow.active.is_(True))
        with self._reading() as session:
            return [feed_of(row, n) for row, n in session.execute(query)]

    def get_feed(self, url: str) -> Feed | None:
        """The feed declared with ``url``, or currently fetched from it."""
        with self._reading() as session:
            row = session.scalar(
                select(FeedRow)
                .where((FeedRow.declared_url == url) | (FeedRow.url == url))
                .order_by(FeedRow.declared_url != url)
                .limit(1)
            )
            if row is None:
                return None
            count = session.scalar(
                select(func.count())
                .select_from(ArticleRow)
                .where(ArticleRow.feed_id == row.id, ArticleRow.removed_at.is_(None))
            )
            return feed_of(row, count or 0)

    def due_feeds(
        self, now: datetime, *, everything: bool = False, urls: Sequence[str] = ()
    ) -> list[Feed]:
        """Feeds to fetch now: active, not disabled, and due (or all of them, or these URLs).

        Feeds named in ``urls`` (declared or current URL) are returned even when disabled: a
        person asked for them.
        """
        query = select(FeedRow).where(FeedRow.active.is_(True)).order_by(FeedRow.id)
        if urls:
            query = query.where(FeedRow.declared_url.in_(urls) | FeedRow.url.in_(urls))
        else:
            query = query.where(FeedRow.status != FeedStatus.DISABLED.value)
            if not everything:
                query = query.where(
                    FeedRow.next_fetch_at.is_(None) | (FeedRow.next_fetch_at <= now)
                )
        with self._transaction() as session:
            return [feed_of(row, 0) for row in session.scalars(query)]

    def record_fetches(self, fetches: Sequence[tuple[int, FeedUpdate, datetime]]) -> None:
        """Store several fetches that brought no articles (304s), in one transaction: each
        feed's new state, written as ``record_fetch`` would, at its own fetch time.

        Raises:
            NoResultFound: one of the feeds is gone; none of the batch is stored.
        """
        with self._transaction() as session:
            _apply_feed_updates(session, fetches)

    def record_fetch(
        self,
        feed_id: int,
        update: FeedUpdate,
        articles: Sequence[Article],
        now: datetime,
        *,
        matches: Mapping[str, Sequence[TopicMatch]] | None = None,
        unchanged_keys: Collection[str] = (),
    ) -> IngestResult:
        """Store one fetch of a feed: its new state and its articles, in one transaction.

        An article whose entry key is stored already updates that row when its title or text
        changed (and is then tagged again). An entry with a new GUID but the same title and
        either the same canonical link or the same text as a stored entry whose GUID is gone
        from the document is that entry under a GUID that changes on every fetch, not a new
        one. Tombstoned entries are left
        alone: they never come back.

        Args:
            matches: the articles' topic matches by entry key (``article_id`` unused), when
                they were tagged before storage: new and changed articles are stored tagged.
            unchanged_keys: entries of the document left out of ``articles`` because they are
                stored exactly as they are (``known_sources``): counted as unchanged, and
                still in the document for the new-GUID check.

        Returns:
            The ids of the new and updated articles.
        """
        with self._transaction() as session:
            _apply_feed_update(session, feed_id, update, now)
            if not articles:
                return IngestResult(unchanged=len(unchanged_keys))
            by_key, by_url, by_print = _existing_articles(session, feed_id, articles)
            keys = {a.entry_key for a in articles} | set(unchanged_keys)
            # New rows go in as one multi-row INSERT; a repeat in the same batch replaces the
            # pending values when its content differs, as an update of a stored row would.
            pending: dict[str, dict[str, object]] = {}
            updated: dict[int, str] = {}
            changes: list[dict[str, object]] = []
            rehashed: list[dict[str, object]] = []
            unchanged = len(unchanged_keys)
            # Articles tagged before storage are stored tagged: no second write of each row.
            tagged_at = None if matches is None else utc(now)
            for article in articles:
                waiting = pending.get(article.entry_key)
                if waiting is not None:
                    if (waiting["fingerprint"], waiting["title"]) != (
                        article.fingerprint,
                        article.title,
                    ):
                        waiting.update(_content_values(article))
                    else:
                        unchanged += 1
                    continue
                row = by_key.get(article.entry_key) or _same_entry_new_guid(
                    [
                        *by_url.get(article.canonical_url or "", ()),
                        *by_print.get(article.fingerprint or "", ()),
                    ],
                    article,
                    keys,
                )
                if row is None:
                    pending[article.entry_key] = {
                        "feed_id": feed_id,
                        "entry_key": article.entry_key,
                        "ingested_at": utc(article.ingested_at or now),
                        "backlog": article.backlog,
                        "tagged_at": tagged_at,
                        **_content_values(article),
                    }
                elif row.removed_at is None and (
                    row.fingerprint != article.fingerprint or row.title != article.title
                ):
                    change = {"id": row.id, **_content_values(article), "tagged_at": tagged_at}
                    if row.entry_key != article.entry_key:
                        # Matched under a new GUID: the row keeps its key, so the hash of an
                        # entry with another key must not name it (see ``known_sources``).
                        change["source_hash"] = None
                    changes.append(change)
                    updated[row.id] = article.entry_key
                else:
                    unchanged += 1
                    if row.source_hash is None and row.entry_key == article.entry_key:
                        # Stored before hashes were: next time the entry is known by its
                        # hash. (A hash that changes with nothing stored changing is not
                        # written again: that would rewrite the row on every fetch.)
                        rehashed.append({"id": row.id, "source_hash": article.source_hash})
            if changes:
                _update_articles(session, changes)
            if rehashed:
                session.execute(_SET_SOURCE_HASH, rehashed)
            new_ids: list[int] = []
            if pending:
                values = list(pending.values())
                session.flush()
                # Without RETURNING, so SQLite takes the rows in one batch; the ids are read
                # back by entry key (unique per feed).
                session.execute(insert(ArticleRow).execution_options(render_nulls=True), values)
                ids: dict[str, int] = {}
                for chunk in _chunks(list(pending)):
                    ids.update(
                        (key, article_id)
                        for article_id, key in session.execute(
                            select(ArticleRow.id, ArticleRow.entry_key).where(
                                ArticleRow.feed_id == feed_id, ArticleRow.entry_key.in_(chunk)
                            )
                        )
                    )
                new_ids = [ids[key] for key in pending]
            session.flush()
            if matches is not None:
                tagged = [*zip(new_ids, pending, strict=True), *updated.items()]
                _replace_matches(
                    session,
                    [(i, matches.get(key, ())) for i, key in tagged],
                    now,
                    stored_before=updated.keys(),
                )
            return IngestResult(
                new_ids=tuple(new_ids), updated_ids=tuple(updated), unchanged=unchanged
            )

    def known_sources(self, feed_id: int, hashes: Iterable[str]) -> dict[str, str]:
        """Entry keys of the feed's stored articles (tombstones too) by source hash, for these
        hashes (``normalize.source_hash``): the entries that need no normalising again."""
        found: dict[str, str] = {}
        mine = select(ArticleRow.source_hash, ArticleRow.entry_key).where(
            ArticleRow.feed_id == feed_id
        )
        with self._reading() as session:
            for chunk in _chunks(list(set(hashes))):
                rows = session.execute(mine.where(ArticleRow.source_hash.in_(chunk)))
                found.update((digest, key) for digest, key in rows if digest is not None)
        return found

    def unclustered(self, limit: int = 10_000) -> list[StorySignature]:
        """Articles not yet in a story, in ingestion order."""
        query = (
            select(*_SIGNATURE_COLUMNS)
            .where(ArticleRow.story_id.is_(None), ArticleRow.removed_at.is_(None))
            .order_by(ArticleRow.id)
            .limit(limit)
        )
        with self._transaction() as session:
            return [_signature(row) for row in session.execute(query)]

    def story_signatures(self, since: datetime) -> list[StorySignature]:
        """Articles ingested since ``since`` that belong to a story."""
        query = select(*_SIGNATURE_COLUMNS).where(
            ArticleRow.story_id.is_not(None),
            ArticleRow.ingested_at >= since,
            ArticleRow.removed_at.is_(None),
        )
        with self._transaction() as session:
            return [_signature(row) for row in session.execute(query)]

    def assign_stories(self, groups: Sequence[StoryGroup], now: datetime) -> None:
        """Apply clustering: join existing stories or start new ones, in one transaction.

        Done in bulk (a few statements per thousand articles), so a first fetch of a huge feed
        is not one round trip per article.
        """
        with self._transaction() as session:
            # In steps of a few thousand groups, so that a first pass over a thousand feeds
            # (tens of thousands of new stories) does not build every row and parameter set
            # at once. Stories are still numbered in the order of ``groups``.
            starting = [g for g in groups if g.story_id is None]
            for step in _chunks(starting, _ASSIGN_STEP):
                _start_stories(session, step, now)
            joined = [g for g in groups if g.story_id is not None]
            for chunk in _chunks(sorted({g.story_id for g in joined if g.story_id is not None})):
                session.execute(
                    update(StoryRow)
                    .where(StoryRow.id.in_(chunk), StoryRow.last_seen_at < now)
                    .values(last_seen_at=now)
                )
            for step in _chunks(joined, _ASSIGN_STEP):
                _place_in_stories(session, [(g.story_id, g.article_ids) for g in step])

    # -- articles ---------------------------------------------------------------------------

    def save_article(self, article: Article, now: datetime) -> tuple[Article, bool]:
        """Insert an article, or update the stored one with the same feed and entry key.

        An update keeps the stored id, ingestion time, backlog flag and story; a tombstoned
        entry is left alone (it never comes back).

        Returns:
            The stored article and whether it was new.
        """
        with self._transaction() as session:
            row = session.scalar(
                select(ArticleRow).where(
                    ArticleRow.feed_id == article.feed_id,
                    ArticleRow.entry_key == article.entry_key,
                )
            )
            if row is None:
                row = ArticleRow(
                    feed_id=article.feed_id,
                    entry_key=article.entry_key,
                    ingested_at=article.ingested_at or now,
                    backlog=article.backlog,
                    story_id=article.story_id,
                )
                _copy_content(row, article)
                session.add(row)
                session.flush()
                return article_of(row), True
            if row.removed_at is None:
                _copy_content(row, article)
                row.tagged_at = None  # changed content must be tagged again
            session.flush()
            return article_of(row), False

    def replace_article_text(self, article_id: int, text: str, html: str) -> None:
        """Put an article page's main text in place of the feed's (it is then tagged again)."""
        with self._transaction() as session:
            row = session.get(ArticleRow, article_id)
            if row is None or row.removed_at is not None:
                return
            row.content_text = text
            row.content_html = html
            row.tagged_at = None

    def get_article(self, article_id: int) -> Article | None:
        """The stored article with ``article_id``, tombstones included."""
        with self._reading() as session:
            row = session.get(ArticleRow, article_id)
            return None if row is None else article_of(row)

    def count_articles(self) -> int:
        """How many articles are stored (tombstones excluded)."""
        with self._reading() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(ArticleRow)
                    .where(ArticleRow.removed_at.is_(None))
                )
                or 0
            )

    # -- stories ----------------------------------------------------------------------------

    def create_story(self, article_id: int, now: datetime) -> Story:
        """Start a story cluster from one stored article."""
        with self._transaction() as session:
            article = session.get_one(ArticleRow, article_id)
            story = StoryRow(title=article.title, first_seen_at=now, last_seen_at=now)
            session.add(story)
            session.flush()
            article.story_id = story.id
            return Story(story.id, story.title, story.first_seen_at, (article_id,))

    def join_story(self, article_id: int, story_id: int, now: datetime) -> Story:
        """Put a stored article into an existing story cluster."""
        with self._transaction() as session:
            story = session.get_one(StoryRow, story_id)
            session.get_one(ArticleRow, article_id).story_id = story_id
            story.last_seen_at = max(story.last_seen_at, now)
            session.flush()
            return _story(session, story)

    def get_story(self, story_id: int) -> Story | None:
        """A story cluster with the ids of its articles, in ingestion order."""
        with self._reading() as session:
            story = session.get(StoryRow, story_id)
            return None if story is None else _story(session, story)

    # -- topics -----------------------------------------------------------------------------

    def sync_topics(
        self, topics: Sequence[TopicDefinition], now: datetime
    ) -> list[TopicDefinition]:
        """Record the configured topics; a changed definition gets the next version.

        Topics no longer configured are deactivated (their matches stay for the archive).

        Returns:
            The active topics as stored, with their versions and ids.
        """
        with self._reading() as session:  # nearly always unchanged: see sync_feeds
            rows = _topics_by_slug(session)
            if not any(_topic_changes(rows, topics)):
                return [_topic(rows[t.slug]) for t in topics]
        with self._transaction() as session:
            _serialize(session, "sync_topics")
            rows = _topics_by_slug(session)
            changed, retired = _topic_changes(rows, topics)
            for topic in changed:
                digest = _definition_hash(topic)
                row = rows.get(topic.slug)
                if row is None:
                    row = TopicRow(slug=topic.slug, version=1, definition_hash=digest)
                    session.add(row)
                    rows[topic.slug] = row
                elif row.definition_hash != digest:
                    row.version += 1
                    row.definition_hash = digest
                row.name = topic.name
                row.description = topic.description
                row.query = topic.query
                row.exclude = topic.exclude
                row.threshold = topic.threshold
                row.active = True
                row.updated_at = now
            for slug in retired:
                rows[slug].active = False
                rows[slug].updated_at = now
            session.flush()
            return [_topic(rows[t.slug]) for t in topics]

    def list_topics(self) -> list[TopicDefinition]:
        """The active topics, by slug."""
        with self._reading() as session:
            rows = session.scalars(
                select(TopicRow).where(TopicRow.active.is_(True)).order_by(TopicRow.slug)
            )
            return [_topic(row) for row in rows]

    def save_matches(self, article_id: int, matches: Sequence[TopicMatch], now: datetime) -> None:
        """Replace an article's topic matches and mark it tagged."""
        self.save_tagging([(article_id, matches)], now)

    def save_tagging(
        self, results: Sequence[tuple[int, Sequence[TopicMatch]]], now: datetime
    ) -> None:
        """Replace the topic matches of several articles and mark them tagged, atomically."""
        if not results:
            return
        with self._transaction() as session:
            # An article pruned since it was read for tagging keeps no matches (``topic_counts``
            # relies on tombstones having none).
            removed: set[int] = set()
            for chunk in _chunks([article_id for article_id, _ in results]):
                removed.update(
                    session.scalars(
                        select(ArticleRow.id).where(
                            ArticleRow.id.in_(chunk), ArticleRow.removed_at.is_not(None)
                        )
                    )
                )
            if removed:
                results = [(i, () if i in removed else found) for i, found in results]
            _replace_matches(session, results, now)

    def articles_to_tag(
        self, *, after_id: int = 0, limit: int = 500, everything: bool = False
    ) -> list[Article]:
        """The next batch of articles to tag, in id order: untagged ones, or all of them."""
        query = (
            select(ArticleRow)
            .where(ArticleRow.id > after_id, ArticleRow.removed_at.is_(None))
            .order_by(ArticleRow.id)
            .limit(limit)
        )
        if not everything:
            query = query.where(ArticleRow.tagged_at.is_(None))
        with self._transaction() as session:
            return [article_of(row) for row in session.scalars(query)]

    def matches_for(self, article_id: int) -> list[TopicMatch]:
        """An article's topic matches, best score first."""
        with self._reading() as session:
            rows = session.execute(
                select(ArticleTopicRow, TopicRow.slug)
                .join(TopicRow, TopicRow.id == ArticleTopicRow.topic_id)
                .where(ArticleTopicRow.article_id == article_id)
                .order_by(ArticleTopicRow.score.desc(), TopicRow.slug)
            )
            return [
                TopicMatch(
                    article_id=row.article_id,
                    topic_slug=slug,
                    score=row.score,
                    evidence=tuple(evidence_of(item) for item in row.evidence),
                    snippet=row.snippet,
                    topic_version=row.topic_version,
                )
                for row, slug in rows
            ]

    def topic_counts(self, now: datetime) -> list[TopicCount]:
        """Articles per active topic: in all, and ingested in the last 24 hours and 7 days."""

        # Index-only counts, not a join of every match with its article row: the totals from
        # ix_article_topics_topic_score (a tombstone keeps no matches: pruning deletes them
        # and tagging stores none), the windows from the ids of ix_articles_ingested_live
        # looked up in article_topics' primary key.
        def recent(since: datetime) -> Select[int, int]:
            window = select(ArticleRow.id).where(
                ArticleRow.ingested_at >= since, ArticleRow.removed_at.is_(None)
            )
            return (
                select(ArticleTopicRow.topic_id, func.count())
                .where(ArticleTopicRow.article_id.in_(window))
                .group_by(ArticleTopicRow.topic_id)
            )

        everything = select(ArticleTopicRow.topic_id, func.count()).group_by(
            ArticleTopicRow.topic_id
        )
        with self._reading() as session:
            topics = session.execute(
                select(TopicRow.id, TopicRow.slug, TopicRow.name)
                .where(TopicRow.active.is_(True))
                .order_by(TopicRow.slug)
            ).all()
            total = dict(session.execute(everything).all())
            day = dict(session.execute(recent(now - timedelta(days=1))).all())
            week = dict(session.execute(recent(now - timedelta(days=7))).all())
            return [
                TopicCount(slug, name, total.get(tid, 0), day.get(tid, 0), week.get(tid, 0))
                for tid, slug, name in topics
            ]


def _chunks(values: Sequence[_T], size: int = 500) -> Iterator[Sequence[_T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _serialize(session: Session, name: str) -> None:
    """Make concurrent callers of one operation take turns (daemons starting together).

    PostgreSQL: a transaction-level advisory lock keyed by ``name``. SQLite: transactions
    already begin IMMEDIATE, which serialises writers.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def open_storage(url: str, *, migrate: bool = True, busy_timeout: float = 15.0) -> Storage:
    """Open the database at ``url``; see ``Storage.open``."""
    return Storage.open(url, migrate=migrate, busy_timeout=busy_timeout)


# -- row → dataclass ------------------------------------------------------------------------


_FEED_UPDATE_FIELDS = (
    "url",
    "etag",
    "last_modified",
    "body_hash",
    "redirect_url",
    "redirect_count",
    "consecutive_failures",
    "last_error",
    "last_fetched_at",
    "last_success_at",
    "next_fetch_at",
    "title",
    "site_url",
    "last_problem",
    "ttl_seconds",
)


class _StoredEntry(NamedTuple):
    """What storing a fetch compares of an article already stored (not its text)."""

    id: int
    entry_key: str
    title: str
    canonical_url: str | None
    fingerprint: str | None
    removed_at: datetime | None
    source_hash: str | None


_STORED_ENTRY_COLUMNS = (
    ArticleRow.id,
    ArticleRow.entry_key,
    ArticleRow.title,
    ArticleRow.canonical_url,
    ArticleRow.fingerprint,
    ArticleRow.removed_at,
    ArticleRow.source_hash,
)


def _existing_articles(
    session: Session, feed_id: int, articles: Sequence[Article]
) -> tuple[dict[str, _StoredEntry], dict[str, list[_StoredEntry]], dict[str, list[_StoredEntry]]]:
    """Stored rows of this feed: by entry key, by canonical link, and by content fingerprint."""
    found: dict[str, _StoredEntry] = {}
    by_url: dict[str, list[_StoredEntry]] = {}
    by_print: dict[str, list[_StoredEntry]] = {}
    mine = select(*_STORED_ENTRY_COLUMNS).where(ArticleRow.feed_id == feed_id)
    prints = list({a.fingerprint for a in articles if a.fingerprint})
    for chunk in _chunks(prints):
        query = mine.where(ArticleRow.fingerprint.in_(chunk)).order_by(ArticleRow.id)
        for row in map(_StoredEntry._make, session.execute(query)):
            by_print.setdefault(row.fingerprint or "", []).append(row)
    for chunk in _chunks(list({a.entry_key for a in articles})):
        query = mine.where(ArticleRow.entry_key.in_(chunk))
        found.update(
            (row.entry_key, row) for row in map(_StoredEntry._make, session.execute(query))
        )
    urls = list({a.canonical_url for a in articles if a.canonical_url})
    for chunk in _chunks(urls):
        query = mine.where(ArticleRow.canonical_url.in_(chunk)).order_by(ArticleRow.id)
        for row in map(_StoredEntry._make, session.execute(query)):
            by_url.setdefault(row.canonical_url or "", []).append(row)
    return found, by_url, by_print


def _same_entry_new_guid(
    candidates: Sequence[_StoredEntry], article: Article, keys_in_document: set[str]
) -> _StoredEntry | None:
    # Several real entries may share one link (link posts pointing at the same page), so the
    # link alone proves nothing: the stored entry must also have left the document and carry
    # the same title.
    for row in candidates:
        if (
            row.entry_key not in keys_in_document
            and row.title == article.title
            # Same text under another link is another post (a weekly "Open thread").
            and row.canonical_url == article.canonical_url
        ):
            return row
    return None


_PLACE_IN_STORY = text("UPDATE articles SET story_id = :story WHERE id = :article")
_SET_SOURCE_HASH = text("UPDATE articles SET source_hash = :source_hash WHERE id = :id")

#: What clustering reads of an article (not its text).
_SIGNATURE_COLUMNS = (
    ArticleRow.id,
    ArticleRow.feed_id,
    ArticleRow.story_id,
    ArticleRow.simhash,
    ArticleRow.canonical_url,
)


def _signature(row: Row[int, int, int | None, int | None, str | None]) -> StorySignature:
    article_id, feed_id, story_id, simhash, canonical_url = row
    return StorySignature(article_id, feed_id, story_id, simhash, canonical_url)


def _copy_content(row: ArticleRow, article: Article) -> None:
    for name, value in _content_values(article).items():
        setattr(row, name, value)


def _apply_feed_update(session: Session, feed_id: int, state: FeedUpdate, now: datetime) -> None:
    """Write a feed's state after a fetch (one UPDATE: a 304 is this and nothing else)."""
    _apply_feed_updates(session, [(feed_id, state, now)])


def _apply_feed_updates(
    session: Session, fetches: Sequence[tuple[int, FeedUpdate, datetime]]
) -> None:
    """Write feeds' states after fetches: one executemany per set of columns written.

    The statement is built once per set of columns and its values are bound per row: an ORM
    ``update(...).values(...)`` with the values inline cost about 1.5 ms of CPU per feed
    (coercing and cache-keying every value), more than the UPDATE itself.

    Raises:
        NoResultFound: a feed is gone.
    """
    groups: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for feed_id, state, now in fetches:
        values = _feed_state_values(state, now)
        row = {f"new_{name}": value for name, value in values.items()}
        row["feed_id"] = feed_id
        groups.setdefault(tuple(values), []).append(row)
    for names, rows in groups.items():
        done = session.execute(_feed_state_update(names), rows)
        written = done.rowcount  # type: ignore[attr-defined]
        if len(rows) == 1 or session.get_bind().dialect.supports_sane_multi_rowcount:
            complete = written == len(rows)
        else:
            ids = [row["feed_id"] for row in rows]
            found = session.scalar(select(func.count()).where(FeedRow.id.in_(ids)))
            complete = found == len(rows)
        if not complete:
            missing = sorted(str(row["feed_id"]) for row in rows)
            raise NoResultFound(f"no feed with id {', '.join(missing)}")


def _feed_state_values(state: FeedUpdate, now: datetime) -> dict[str, object]:
    values: dict[str, object] = {name: getattr(state, name) for name in _FEED_UPDATE_FIELDS}
    values |= {
        "status": state.status.value,
        "updated_at": now,
        "lease_owner": None,  # the fetch is done: whoever held the feed lets it go
        "lease_expires_at": None,
    }
    if state.last_error:
        values["last_error_at"] = now
    return values


@functools.cache
def _feed_state_update(names: tuple[str, ...]) -> Update:
    """``UPDATE feeds SET <names> WHERE id = :feed_id``, values bound as ``new_<name>``."""
    table = cast(Table, FeedRow.__table__)
    columns = table.c
    return (
        update(table)
        .where(columns.id == bindparam("feed_id", type_=columns.id.type))
        .values({name: bindparam(f"new_{name}", type_=columns[name].type) for name in names})
    )


def _update_articles(session: Session, changes: list[dict[str, object]]) -> None:
    """Rewrite stored articles (each dict has the ``id`` and the new values)."""
    session.execute(update(ArticleRow), changes)  # a bulk update by primary key


#: Story groups written per step of ``assign_stories``.
_ASSIGN_STEP = 2_000


def _start_stories(session: Session, groups: Sequence[StoryGroup], now: datetime) -> None:
    """New stories for these groups, titled after their first article; the articles in them."""
    titles: dict[int, str] = {}
    for chunk in _chunks([g.article_ids[0] for g in groups]):
        rows = session.execute(
            select(ArticleRow.id, ArticleRow.title).where(ArticleRow.id.in_(chunk))
        )
        titles.update((article_id, title) for article_id, title in rows)
    values: list[dict[str, object]] = [
        {"title": titles.get(g.article_ids[0], ""), "first_seen_at": now, "last_seen_at": now}
        for g in groups
    ]
    new_ids = _insert_stories(session, values)
    _place_in_stories(session, list(zip(new_ids, (g.article_ids for g in groups), strict=True)))


def _place_in_stories(
    session: Session, targets: Sequence[tuple[int | None, tuple[int, ...]]]
) -> None:
    placed = [
        {"article": article_id, "story": story_id}
        for story_id, article_ids in targets
        for article_id in article_ids
    ]
    if placed:  # one statement, many parameter sets (no ORM bookkeeping per row)
        session.execute(_PLACE_IN_STORY, placed)


def _insert_stories(session: Session, values: list[dict[str, object]]) -> list[int]:
    """Insert stories; their ids in the order given."""
    if not values:
        return []
    if session.get_bind().dialect.name != "sqlite":
        inserted = session.scalars(
            insert(StoryRow).returning(StoryRow.id, sort_by_parameter_order=True), values
        )
        return list(inserted)
    # SQLite numbers the rows of one write transaction after the largest id so far, in the
    # order they are inserted, and nobody else writes meanwhile (BEGIN IMMEDIATE): reading the
    # ids back is much cheaper than RETURNING, which SQLAlchemy does there row by row.
    before = session.scalar(select(func.max(StoryRow.id))) or 0
    session.execute(insert(StoryRow), values)
    ids = list(
        session.scalars(select(StoryRow.id).where(StoryRow.id > before).order_by(StoryRow.id))
    )
    if len(ids) != len(values):
        raise RuntimeError(f"expected {len(values)} new stories, found {len(ids)}")
    return ids


def _content_values(article: Article) -> dict[str, object]:
    # Datetimes go in (and come back) as the same instant in UTC, as a reload would give them.
    return {
        name: utc(value) if isinstance(value := getattr(article, name), datetime) else value
        for name in CONTENT_FIELDS
    }


def _replace_matches(
    session: Session,
    results: Sequence[tuple[int, Sequence[TopicMatch]]],
    now: datetime,
    *,
    stored_before: Collection[int] | None = None,
) -> None:
    """Put these matches in place of the articles' stored ones and mark the articles tagged.

    A match for a topic no longer stored (removed while the articles were being tagged) is
    dropped with its topic.

    Args:
        stored_before: when given, the articles are being stored in this transaction, already
            marked tagged, and only these ids among them can have matches from before;
            otherwise every article's old matches go and its ``tagged_at`` is set.
    """
    if not results:
        return
    ids = dict(session.execute(select(TopicRow.slug, TopicRow.id)).all())
    article_ids = [article_id for article_id, _ in results]
    replaced = article_ids if stored_before is None else list(stored_before)
    for chunk in _chunks(replaced):
        session.execute(delete(ArticleTopicRow).where(ArticleTopicRow.article_id.in_(chunk)))
    rows = [
        {
            "article_id": article_id,
            "topic_id": ids[match.topic_slug],
            "score": match.score,
            "evidence": [e.as_dict() for e in match.evidence],
            "snippet": match.snippet,
            "topic_version": match.topic_version,
            "matched_at": now,
        }
        for article_id, matches in results
        for match in matches
        if match.topic_slug in ids
    ]
    if rows:
        session.execute(insert(ArticleTopicRow), rows)
    if stored_before is not None:
        return
    for chunk in _chunks(article_ids):
        session.execute(
            update(ArticleRow)
            .where(ArticleRow.id.in_(chunk))
            .values(tagged_at=now)
            .execution_options(synchronize_session=False)
        )


def _topic(row: TopicRow) -> TopicDefinition:
    return TopicDefinition(
        slug=row.slug,
        name=row.name,
        description=row.description,
        query=row.query,
        threshold=row.threshold,
        exclude=row.exclude,
        version=row.version,
        id=row.id,
    )


def _feeds_by_declared_url(session: Session) -> dict[str, FeedRow]:
    return {row.declared_url: row for row in session.scalars(select(FeedRow))}


def _settings(decl: FeedDeclaration) -> tuple[str | None, int | None, bool, bool]:
    return decl.name, decl.interval_seconds, decl.full_text, decl.backfill


def _feed_changes(
    rows: Mapping[str, FeedRow], wanted: Mapping[str, FeedDeclaration]
) -> FeedSyncResult:
    """What mirroring the declared feeds onto the stored ``rows`` changes (by declared URL)."""
    added: list[str] = []
    updated: list[str] = []
    reactivated: list[str] = []
    for url, decl in wanted.items():
        row = rows.get(url)
        if row is None:
            added.append(url)
            continue
        if not row.active:
            reactivated.append(url)
        if _settings(decl) != (row.name, row.interval_seconds, row.full_text, row.backfill):
            updated.append(url)
    deactivated = [url for url, row in rows.items() if url not in wanted and row.active]
    return FeedSyncResult(tuple(added), tuple(updated), tuple(deactivated), tuple(reactivated))


def _topics_by_slug(session: Session) -> dict[str, TopicRow]:
    return {row.slug: row for row in session.scalars(select(TopicRow))}


def _topic_changes(
    rows: Mapping[str, TopicRow], topics: Sequence[TopicDefinition]
) -> tuple[list[TopicDefinition], list[str]]:
    """The configured topics to write (new, changed, renamed, redescribed or back again) and
    the slugs of stored ones to deactivate."""
    changed = [
        topic
        for topic in topics
        if (row := rows.get(topic.slug)) is None
        or row.definition_hash != _definition_hash(topic)
        or not row.active
        or (row.name, row.description) != (topic.name, topic.description)
    ]
    wanted = {t.slug for t in topics}
    retired = [slug for slug, row in rows.items() if row.active and slug not in wanted]
    return changed, retired


def _definition_hash(topic: TopicDefinition) -> str:
    # The name and description do not change what matches, so they do not bump the version.
    payload = json.dumps([topic.query, topic.exclude, topic.threshold], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def _story(session: Session, row: StoryRow) -> Story:
    ids = session.scalars(
        select(ArticleRow.id).where(ArticleRow.story_id == row.id).order_by(ArticleRow.id)
    )
    return Story(row.id, row.title, row.first_seen_at, tuple(ids))


def _db_reason(exc: DBAPIError) -> str:
    """The driver's own message, first line only, without SQLAlchemy's boilerplate."""
    original = exc.orig if exc.orig is not None else exc
    message = str(original).strip().splitlines()
    reason = message[0] if message else type(original).__name__
    if reason == "database is locked":
        reason += " (another process kept it locked for longer than database.busy_timeout)"
    return reason

"""The application core: one object that the CLI and the daemon drive.

``make_monitor(config)`` wires configuration and storage together; every command and daemon job
is one method call on the ``Monitor`` it returns.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TextIO

from newswatch.config import Config, FetchConfig
from newswatch.digest.schedule import next_slot
from newswatch.errors import UsageError
from newswatch.export import write_export
from newswatch.model import (
    DaemonStatus,
    Digest,
    FeedDeclaration,
    StatusReport,
    TagSummary,
    TopicDefinition,
)
from newswatch.search import ArticleFilter, ArticleRecord, SearchHit, parse_search, parse_when
from newswatch.storage import FeedSyncResult, Storage, open_storage

# Every command imports this module; what only some of them use (fetching, digests, tagging,
# OPML) is imported where it is used, so that `status` or `search` do not load feedparser,
# lxml, httpx, Jinja2 or the stemmers first.
if TYPE_CHECKING:
    from newswatch.digest.runner import DigestRun, DigestRunner, Preview
    from newswatch.fetching.check import CheckReport
    from newswatch.ingest import FetchSummary, Lease, Progress
    from newswatch.tagging.document import Document
    from newswatch.tagging.matcher import Match, Tagger

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class UpgradeResult:
    """What ``db upgrade`` did."""

    before: str | None
    after: str | None
    database: str


class Monitor:
    """newswatch's core: configuration, storage and the operations on them."""

    def __init__(self, config: Config, storage: Storage, *, clock: Clock = utc_now) -> None:
        self.config = config
        self.storage = storage
        self._clock = clock
        self._tagger: Tagger | None = None

    def now(self) -> datetime:
        """The current time as the monitor sees it (injectable for tests)."""
        return self._clock()

    @functools.cached_property
    def digests(self) -> DigestRunner:
        """The digest channels' runner (built on first use: it brings Jinja2 and SMTP)."""
        from newswatch.digest.runner import DigestRunner

        return DigestRunner(self.config, self.storage, self._clock)

    def close(self) -> None:
        """Release the database."""
        self.storage.close()

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def sync_config(self) -> FeedSyncResult:
        """Mirror the configured feeds and topics into the database."""
        now = self.now()
        result = self.storage.sync_feeds(feed_declarations(self.config), now)
        self.storage.sync_topics(topic_definitions(self.config), now)
        self._tagger = None
        return result

    def fetch(
        self,
        *,
        everything: bool = False,
        urls: Sequence[str] = (),
        progress: Progress | None = None,
        lease: Lease | None = None,
        stop: threading.Event | None = None,
    ) -> FetchSummary:
        """Run one refresh pass over due feeds (or all, or the named ones).

        ``lease`` takes the due feeds for one worker of several (the daemon); ``stop`` ends the
        pass early when set.

        Raises:
            UsageError: a URL in ``urls`` is not a configured feed.
        """
        from newswatch.ingest import refresh

        for url in urls:
            if self.storage.get_feed(url) is None:
                raise UsageError(f"{url} is not a configured feed (see 'newswatch feeds list')")
        summary = refresh(
            self.storage,
            self.config.fetch,
            clock=self._clock,
            everything=everything,
            urls=urls,
            progress=progress,
            lease=lease,
            stop=stop,
            topics=self.storage.list_topics(),
        )
        # New and changed articles are tagged in the same pass (in the worker processes of a
        # large pass; here otherwise, with any left untagged before).
        tagged = self.tag()
        return replace(summary, tagged=tagged.articles)

    @property
    def tagger(self) -> Tagger:
        """The configured topics, compiled (built once per monitor)."""
        if self._tagger is None:
            from newswatch.tagging.apply import make_tagger

            self._tagger = make_tagger(self.storage.list_topics())
        return self._tagger

    def tag(
        self, *, everything: bool = False, progress: Callable[[int], None] | None = None
    ) -> TagSummary:
        """Tag the untagged articles, or (``everything``) retag all with the current topics."""
        if not everything and not self.storage.articles_to_tag(limit=1):
            # After a pass whose worker processes tagged everything: the topics need not be
            # compiled here (nor the matcher and its stemmers loaded).
            return TagSummary(0, 0, {})
        from newswatch.tagging.apply import tag_stored

        return tag_stored(
            self.storage, self.tagger, clock=self._clock, everything=everything, progress=progress
        )

    def stored_documents(self) -> Iterator[tuple[str, str, Document]]:
        """Every stored article as (id, title, document), oldest first, read in batches."""
        from newswatch.tagging.apply import document_of

        after = 0
        while True:
            batch = self.storage.articles_to_tag(after_id=after, everything=True)
            if not batch:
                return
            for article in batch:
                yield str(article.id), article.title, document_of(article)
            after = batch[-1].id or after

    def export_opml(self) -> str:
        """The configured feeds as an OPML document."""
        from newswatch.opml import Outline, write_opml

        outlines = [
            Outline(url=feed.url, title=feed.display_name, html_url=feed.site_url)
            for feed in self.storage.list_feeds()
        ]
        return write_opml(outlines, title=f"newswatch feeds ({self.config.path.name})")

    def next_digest_times(self) -> dict[str, datetime | None]:
        """When each digest channel's schedule fires next, in UTC."""
        now = self.now()
        return {
            name: next_slot(digest.schedule, digest.zone, now)
            for name, digest in self.config.digests.items()
        }

    def send_digests(self, name: str | None = None) -> list[DigestRun]:
        """``digest send``: tag what is untagged, then build and deliver each channel now.

        Raises:
            UsageError: ``name`` is not a configured channel.
        """
        names = self.digests.names(name)
        self.tag()
        return [run for channel in names for run in self.digests.send(channel)]

    def run_scheduled_digest(self, name: str) -> list[DigestRun]:
        """The daemon's digest job for one channel: tag, then build what the schedule owes."""
        self.tag()
        return self.digests.run_scheduled(name)

    def send_alerts(self) -> list[DigestRun]:
        """Send each topic alert's new high-scoring matches now (and retry what is due)."""
        return [run for name in self.config.alerts for run in self.digests.send_alert(name)]

    def preview_digests(self, name: str | None = None) -> list[Preview]:
        """What each channel's next digest would contain now; nothing is recorded."""
        return [self.digests.preview(channel) for channel in self.digests.names(name)]

    def list_digests(self, name: str | None = None, *, limit: int = 20) -> list[Digest]:
        """Past digests, newest first."""
        if name is not None:
            self.digests.names(name)
        return self.storage.list_digests(name, limit=limit)

    def status(self) -> StatusReport:
        """Feed health, articles per topic and the last digest of each channel."""
        now = self.now()
        return StatusReport(
            feeds=tuple(self.storage.list_feeds()),
            topics=tuple(self.storage.topic_counts(now)),
            articles=self.storage.count_articles(),
            last_digests={
                name: self.storage.last_digest(name, items=False) for name in self.config.digests
            },
            daemons=tuple(self.daemon_status(now)),
        )

    def daemon_status(self, now: datetime) -> list[DaemonStatus]:
        """Daemons seen lately; one is running if it has not stopped and beat recently."""
        stale = now - 3 * self.config.daemon.heartbeat
        return [
            DaemonStatus(info, info.stopped_at is None and info.heartbeat_at >= stale)
            for info in self.storage.daemons(now - timedelta(days=1))
        ]

    # -- search and export --------------------------------------------------------------------

    def article_filter(
        self,
        *,
        topic: str | None = None,
        feed: str | None = None,
        since: str | None = None,
        until: str | None = None,
        min_score: float | None = None,
        story: int | None = None,
    ) -> ArticleFilter:
        """Check the filters of ``search``, ``articles list`` and ``export`` and build them.

        ``since`` and ``until`` are ISO dates (UTC days, ``until`` included) or datetimes.

        Raises:
            UsageError: an unknown topic or feed, a date that does not parse, or an empty range.
        """
        if topic is not None and not self.storage.topic_known(topic):
            raise UsageError(f"unknown topic {topic!r} (see 'newswatch topics list')")
        if feed is not None and self.storage.get_feed(feed) is None:
            raise UsageError(f"{feed} is not a configured feed (see 'newswatch feeds list')")
        start = parse_when(since, option="--since") if since is not None else None
        end = parse_when(until, end=True, option="--until") if until is not None else None
        if start is not None and end is not None and start >= end:
            raise UsageError(f"--since {since} is not before --until {until}: nothing can match")
        return ArticleFilter(
            topic=topic, feed=feed, since=start, until=end, min_score=min_score, story_id=story
        )

    def search(
        self, query: str, filters: ArticleFilter | None = None, *, limit: int = 20
    ) -> list[SearchHit]:
        """Full-text search over the stored articles, best match first.

        Raises:
            QuerySyntaxError: the query does not parse (the message shows where).
        """
        return self.storage.search_articles(parse_search(query), filters, limit=limit)

    def list_articles(
        self, filters: ArticleFilter | None = None, *, limit: int = 50
    ) -> list[ArticleRecord]:
        """The newest stored articles that pass ``filters``."""
        return self.storage.list_articles(filters, limit=limit)

    def export_articles(
        self, out: TextIO, fmt: str = "csv", filters: ArticleFilter | None = None
    ) -> int:
        """Stream every stored article that passes ``filters`` to ``out``, oldest first.

        Returns:
            How many articles were written.

        Raises:
            UsageError: ``fmt`` is not ``csv``, ``jsonl`` or ``markdown``.
        """
        return write_export(self.storage.iter_articles(filters), out, fmt)


def feed_declarations(config: Config) -> list[FeedDeclaration]:
    """The config's feeds in the form storage mirrors."""
    return [
        FeedDeclaration(
            url=spec.url,
            name=spec.name,
            interval_seconds=int(spec.interval.total_seconds()) if spec.interval else None,
            full_text=spec.full_text,
            backfill=spec.backfill,
        )
        for spec in config.feeds
    ]


def topic_definitions(config: Config) -> list[TopicDefinition]:
    """The config's topics in the form storage records."""
    return [
        TopicDefinition(
            slug=t.slug,
            name=t.name,
            description=t.description,
            query=t.query,
            threshold=t.threshold,
            exclude=t.exclude,
        )
        for t in config.topics
    ]


def make_monitor(config: Config, *, clock: Clock = utc_now, sync: bool = True) -> Monitor:
    """Open the configured database (migrating it) and build the monitor.

    Args:
        config: the validated configuration.
        clock: where "now" comes from.
        sync: mirror the configured feeds and topics into the database right away.

    Raises:
        DatabaseUnavailableError: the database cannot be reached.
        SchemaError: the database was written by a newer newswatch.
    """
    storage = open_storage(
        config.database.url, busy_timeout=config.database.busy_timeout.total_seconds()
    )
    monitor = Monitor(config, storage, clock=clock)
    if sync:
        try:
            monitor.sync_config()
        except BaseException:
            storage.close()
            raise
    return monitor


def upgrade_database(config: Config) -> UpgradeResult:
    """Apply every pending migration to the configured database (``db upgrade``)."""
    with open_storage(
        config.database.url,
        migrate=False,
        busy_timeout=config.database.busy_timeout.total_seconds(),
    ) as storage:
        before, after = storage.upgrade()
        return UpgradeResult(before=before, after=after, database=storage.url)


def check_feed(url: str, settings: FetchConfig, *, clock: Clock = utc_now) -> CheckReport:
    """Fetch ``url`` once and say whether it is a feed (``feeds check``); nothing is stored."""
    from newswatch.fetching.check import check_url
    from newswatch.ingest import make_fetcher

    return check_url(url, make_fetcher(settings), now=clock())


def tagger_from_config(config: Config) -> Tagger:
    """The configured topics compiled, without a database (``topics match``/``eval``)."""
    from newswatch.tagging.apply import make_tagger

    return make_tagger(topic_definitions(config))


def test_query(
    tagger: Tagger, documents: Iterable[tuple[str, str, Document]], limit: int
) -> list[tuple[str, str, Match]]:
    """The best ``limit`` (id, title, match) for a one-topic tagger over documents."""
    found = []
    for ident, title, document in documents:
        for match in tagger.match(document):
            found.append((ident, title, match))
    found.sort(key=lambda item: -item[2].score)
    return found[:limit]

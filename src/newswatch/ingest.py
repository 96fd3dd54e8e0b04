"""One refresh pass: fetch due feeds, parse, normalise, store, cluster into stories.

Fetches run concurrently on an asyncio loop (``fetch.concurrency``, ``fetch.per_host``). Each
finished download is prepared (``prepare``: parsed, normalised, tagged) and stored in one
transaction per feed. A pass with many feeds does both in worker processes (``fetch.workers``),
one per core, each with its own database connection, while the loop keeps downloading; a small
one does them on a single storage thread. Stories are clustered once the feeds are stored. One
bad feed never stops the others: everything that goes wrong with a feed ends as that feed's
recorded error.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from newswatch.config import FetchConfig
from newswatch.fetching.fulltext import extract_main_text, is_private_host
from newswatch.fetching.http import USER_AGENT, Fetcher, FetchError, FetchResponse
from newswatch.fetching.policy import Failure, decide
from newswatch.model import Feed, FeedStatus, IngestResult, TopicDefinition
from newswatch.prepare import (
    POOL_MIN_FEEDS,
    Prepared,
    PreparePool,
    Stored,
    pool_size,
    prepare,
    store_prepared,
)
from newswatch.storage import Storage
from newswatch.stories import cluster

log = logging.getLogger(__name__)

#: How far back a new article looks for the story it belongs to.
STORY_WINDOW = timedelta(days=3)
#: Articles clustered per step of a pass (each step reads the window's signatures again):
#: a first pass over a thousand feeds is one step.
CLUSTER_BATCH = 50_000


@dataclass(frozen=True, slots=True)
class FeedResult:
    """What happened to one feed in a pass."""

    url: str
    name: str
    outcome: str  # "fetched" | "not_modified" | "unchanged" | "failed"
    status: FeedStatus
    new_articles: int = 0
    updated_articles: int = 0
    error: str | None = None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FetchSummary:
    """A whole pass, as ``newswatch fetch`` reports it."""

    feeds: int
    fetched: int
    not_modified: int  # 304, or a body identical to the last one
    failed: int
    new_articles: int
    updated_articles: int
    elapsed: float
    results: tuple[FeedResult, ...]
    tagged: int = 0  # articles tagged in the same pass


Clock = Callable[[], datetime]
#: Called after each feed with its result, how many feeds are done, and how many in all.
Progress = Callable[[FeedResult, int, int], None]


def refresh(
    storage: Storage,
    settings: FetchConfig,
    *,
    clock: Clock,
    everything: bool = False,
    urls: Sequence[str] = (),
    progress: Progress | None = None,
    fetcher: Fetcher | None = None,
    lease: Lease | None = None,
    stop: threading.Event | None = None,
    topics: Sequence[TopicDefinition] | None = None,
) -> FetchSummary:
    """Run one pass over the due feeds (or all of them, or those named).

    Args:
        storage: where feeds, state and articles live.
        settings: the ``fetch:`` config.
        clock: the time source.
        everything: fetch every active feed, due or not.
        urls: fetch only these feeds (declared or current URLs).
        progress: called after each feed is done (result, done, total).
        fetcher: the HTTP fetcher to use (default: one built from ``settings``).
        lease: take the due feeds with a lease for this worker (daemons sharing a database);
            without one, every due feed is fetched.
        stop: when set, downloads still running are cancelled and the pass ends early; what
            was stored stays stored, the rest is fetched next time.
        topics: when the pass is large enough to be prepared in worker processes
            (``fetch.workers``), they also tag new and changed articles with these topics;
            otherwise articles are stored untagged, for the caller to tag.

    Returns:
        Counts and per-feed results.
    """
    started = clock()
    if lease is not None and not everything and not urls:
        feeds = storage.claim_due_feeds(started, lease.owner, started + lease.duration)
    else:
        feeds = storage.due_feeds(started, everything=everything, urls=urls)
    fetcher = fetcher or make_fetcher(settings)
    workers = pool_size(settings.workers) if len(feeds) >= POOL_MIN_FEEDS else 0
    processor = _Processor(storage, settings, clock, workers)
    pool = _start_pool(workers, topics, storage, settings) if workers else None
    try:
        results = (
            asyncio.run(
                _Pass(feeds, fetcher, processor, pool=pool, progress=progress, stop=stop).run()
            )
            if feeds
            else []
        )
    finally:
        if pool is not None:
            # A stopping daemon does not wait for a worker busy with a huge document.
            pool.close(wait=stop is None or not stop.is_set())
    processor.cluster_new_articles()
    elapsed = (clock() - started).total_seconds()
    summary = FetchSummary(
        feeds=len(results),
        fetched=sum(r.outcome == "fetched" for r in results),
        not_modified=sum(r.outcome in ("not_modified", "unchanged") for r in results),
        failed=sum(r.outcome == "failed" for r in results),
        new_articles=sum(r.new_articles for r in results),
        updated_articles=sum(r.updated_articles for r in results),
        elapsed=elapsed,
        results=tuple(results),
    )
    log.info(
        "fetch pass done: feeds=%d fetched=%d not_modified=%d failed=%d new=%d elapsed=%.1fs",
        summary.feeds,
        summary.fetched,
        summary.not_modified,
        summary.failed,
        summary.new_articles,
        elapsed,
    )
    return summary


@dataclass(frozen=True, slots=True)
class Lease:
    """Who takes the due feeds, and for how long before another worker may take them over."""

    owner: str
    duration: timedelta


def _start_pool(
    workers: int,
    topics: Sequence[TopicDefinition] | None,
    storage: Storage,
    settings: FetchConfig,
) -> PreparePool | None:
    try:
        return PreparePool(workers, topics, storage.address, settings.default_interval)
    except Exception as exc:  # no process support here: the pass runs in one process
        log.error("worker processes unavailable, the pass runs in one process: %s", exc)
        return None


#: How often a running pass looks at its stop flag.
_STOP_POLL = 0.2
#: 304s stored per transaction, at most, and how long the first of a batch waits for others
#: while downloads are still under way (a batch is stored at once when none are).
NOT_MODIFIED_BATCH = 100
NOT_MODIFIED_WAIT = 0.25

#: New articles whose page to fetch (full-text feeds): their ids and links.
Pages = list[tuple[int, str]]
#: A feed's result, and its pages to fetch.
Reported = tuple[FeedResult, Pages]


def make_fetcher(settings: FetchConfig) -> Fetcher:
    """A fetcher with the limits of the ``fetch:`` config."""
    return Fetcher(
        timeout=settings.timeout.total_seconds(),
        max_bytes=settings.max_bytes,
        concurrency=settings.concurrency,
        per_host=settings.per_host,
        user_agent=settings.user_agent or USER_AGENT,
    )


class _Pass:
    """The asynchronous half of a pass: downloads, then each feed prepared and stored."""

    def __init__(
        self,
        feeds: Sequence[Feed],
        fetcher: Fetcher,
        processor: _Processor,
        *,
        pool: PreparePool | None,
        progress: Progress | None,
        stop: threading.Event | None,
    ) -> None:
        self._feeds = feeds
        self._fetcher = fetcher
        self._processor = processor
        self._pool = pool
        self._progress = progress
        self._stop = stop
        self._results: list[FeedResult] = []
        self._pages: set[asyncio.Task[None]] = set()
        self._batch: _NotModifiedBatch | None = None
        self._report: Callable[[Feed, FeedResult, Pages], None] = lambda *_: None

    async def run(self) -> list[FeedResult]:
        """Fetch, prepare and store every feed; then the article pages of full-text feeds."""
        # Downloads wait for a slot, held until the feed is stored: the bodies in memory stay
        # bounded however many feeds the pass has and however far storage lags behind.
        slots = asyncio.Semaphore(self._processor.backlog)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="newswatch-store") as storage:
            writing = self._pool.writing if self._pool is not None else nullcontext()
            self._report = self._reported(storage)
            batch = _NotModifiedBatch(self._processor, storage, writing, self._report)
            self._batch = batch
            async with self._fetcher:
                pending = {asyncio.create_task(self._feed(f, slots, storage)) for f in self._feeds}
                while pending:
                    _, pending = await asyncio.wait(pending, timeout=_STOP_POLL)
                    if self._stopped():
                        log.info("fetch pass stopped early: %d feeds left", len(pending))
                        # The 304s already downloaded are stored, and reported, first.
                        await batch.drain()
                        await _cancel(pending | self._pages)
                        return self._results
                await batch.drain()  # no download is left: no 304 waits any longer
                while self._pages:
                    _, self._pages = await asyncio.wait(self._pages, timeout=_STOP_POLL)
                    if self._stopped():
                        await _cancel(self._pages)
                        break
        return self._results

    def _stopped(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    async def _feed(
        self, feed: Feed, slots: asyncio.Semaphore, storage: ThreadPoolExecutor
    ) -> None:
        assert self._batch is not None
        async with slots:
            got = await self._download(feed)
            now = self._processor.now()
            unchanged = _not_modified(feed, got, now)
            if unchanged is not None:
                # A 304 holds no body: its slot is free at once, and it is reported when its
                # batch is stored.
                self._batch.add(feed, unchanged, now)
                return
            result, wanted = await self._store(feed, got, now, storage)
        self._report(feed, result, wanted)

    def _reported(self, storage: ThreadPoolExecutor) -> Callable[[Feed, FeedResult, Pages], None]:
        """What to do once a feed is stored: fetch its new articles' pages, report it."""

        def report(feed: Feed, result: FeedResult, wanted: Pages) -> None:
            self._pages.update(
                asyncio.create_task(self._full_text(feed, i, u, storage)) for i, u in wanted
            )
            self._results.append(result)
            if self._progress is not None:
                self._progress(result, len(self._results), len(self._feeds))

        return report

    async def _store(
        self,
        feed: Feed,
        got: FetchResponse | FetchError,
        now: datetime,
        storage: ThreadPoolExecutor,
    ) -> Reported:
        """Prepare and store one download, in a worker process or on the storage thread."""
        loop = asyncio.get_running_loop()
        stored = await self._in_worker(feed, got, now)
        if isinstance(stored, Stored):
            return self._processor.report(feed, stored)
        if stored is None:  # no worker processes: prepared and stored on one thread
            return await loop.run_in_executor(storage, self._processor.process, feed, got, now)
        # the feed's crash, recorded as its error
        return await loop.run_in_executor(storage, self._processor.store, feed, stored, now)

    async def _download(self, feed: Feed) -> FetchResponse | FetchError:
        try:
            return await self._fetcher.fetch(
                feed.url, etag=feed.etag, last_modified=feed.last_modified
            )
        except FetchError as exc:
            return exc
        except Exception as exc:  # the per-feed boundary, for the download half
            log.exception("feed download crashed: url=%s", feed.url)
            return FetchError(f"internal error: {type(exc).__name__}: {exc}", kind="bug")

    async def _in_worker(
        self, feed: Feed, got: FetchResponse | FetchError, now: datetime
    ) -> Stored | BaseException | None:
        """The download prepared and stored by a worker process; ``None`` when there is no
        pool (any more)."""
        if self._pool is None:
            return None
        try:
            future = self._pool.submit(feed, got, now)
        except Exception as exc:  # workers could not start (no temporary folder, no fork…)
            log.error("worker processes unavailable, the pass runs in one process: %s", exc)
            self._pool = None
            return None
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): the rest of the pass, this feed included,
            # is prepared on the storage thread, as in a small pass.
            log.error("a worker process died; the rest of the pass runs in one process")
            self._pool = None
            return None
        except Exception as exc:  # a crash while preparing: recorded as the feed's error
            return exc

    async def _full_text(
        self, feed: Feed, article_id: int, url: str, storage: ThreadPoolExecutor
    ) -> None:
        # A hostile feed must not make newswatch probe the local network: article links may
        # reach private addresses only when the feed itself lives there, or the config says so.
        allow = self._processor.allow_private_links or is_private_host(feed.url)
        try:
            page = await self._fetcher.fetch(
                url, accept="text/html, */*;q=0.5", allow_private=allow
            )
            if 200 <= page.status < 300:
                await asyncio.get_running_loop().run_in_executor(
                    storage, self._processor.store_full_text, article_id, page
                )
        except FetchError as exc:
            log.info("full text skipped: url=%s error=%s", url, exc)
        except Exception:  # an article page is an extra: it never fails the pass
            log.exception("full text failed: url=%s", url)


def _not_modified(feed: Feed, got: FetchResponse | FetchError, now: datetime) -> Prepared | None:
    """The prepared download when it is a plain 304 (stored in a batch), else None."""
    if isinstance(got, FetchError) or got.status != 304:
        return None
    try:
        prepared = prepare(feed, got, now)
    except Exception:  # left to the usual path, whose per-feed boundary records it
        return None
    return prepared if prepared.kind == "not_modified" else None


class _NotModifiedBatch:
    """304s stored together: one transaction for many feeds instead of one each.

    A pass where every feed answers 304 spent more on a transaction per feed (and, in a large
    pass, on handing each feed to a worker process) than on its requests. Here 304s wait until
    ``NOT_MODIFIED_BATCH`` of them are in, or ``NOT_MODIFIED_WAIT`` seconds have passed, or
    the pass drains them (no download left, or a stop), and the storage thread stores each
    batch in one transaction. A feed is reported once its batch is committed, so a pass still
    ends with every feed's state stored; a process killed mid-pass loses only the 304s not yet
    committed, which the next pass fetches again (their validators are unchanged).
    """

    def __init__(
        self,
        processor: _Processor,
        storage: ThreadPoolExecutor,
        writing: AbstractContextManager[object],
        report: Callable[[Feed, FeedResult, Pages], None],
    ) -> None:
        self._processor = processor
        self._storage = storage
        self._writing = writing
        self._report = report
        self._pending: list[tuple[Feed, Prepared, datetime]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._jobs: set[asyncio.Future[list[Reported]]] = set()

    def add(self, feed: Feed, prepared: Prepared, now: datetime) -> None:
        """Queue a 304 for storing."""
        self._pending.append((feed, prepared, now))
        if len(self._pending) >= NOT_MODIFIED_BATCH:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(NOT_MODIFIED_WAIT, self.flush)

    def flush(self) -> None:
        """Start storing the queued 304s (on the storage thread)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        job = asyncio.get_running_loop().run_in_executor(self._storage, self._store, batch)
        self._jobs.add(job)
        job.add_done_callback(lambda done: self._settle(done, batch))

    async def drain(self) -> None:
        """Store what is queued, and return once every batch is stored and reported."""
        self.flush()
        while self._jobs:
            await asyncio.wait(set(self._jobs))

    def _store(self, batch: list[tuple[Feed, Prepared, datetime]]) -> list[Reported]:
        with self._writing:
            return self._processor.store_not_modified(batch)

    def _settle(
        self, job: asyncio.Future[list[Reported]], batch: list[tuple[Feed, Prepared, datetime]]
    ) -> None:
        self._jobs.discard(job)
        if job.cancelled() or job.exception() is not None:
            # store_not_modified records each feed's own failure; this is a bug: say so.
            error = None if job.cancelled() else job.exception()
            log.error("a batch of %d 304s was not stored", len(batch), exc_info=error)
            return
        for (feed, _, _), (result, wanted) in zip(batch, job.result(), strict=True):
            self._report(feed, result, wanted)


async def _cancel(tasks: set[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class _Processor:
    """Turns downloads into stored state. ``store`` and ``process`` run on the storage thread."""

    def __init__(
        self, storage: Storage, settings: FetchConfig, clock: Clock, workers: int = 0
    ) -> None:
        self._storage = storage
        self._settings = settings
        self._clock = clock
        self.allow_private_links = settings.allow_private_links
        #: Downloads that may be under way or waiting to be stored at once.
        self.backlog = settings.concurrency + 2 * max(workers, 1)

    def now(self) -> datetime:
        """The time a download is taken to have been fetched at."""
        return self._clock()

    def process(
        self, feed: Feed, got: FetchResponse | FetchError, now: datetime
    ) -> tuple[FeedResult, list[tuple[int, str]]]:
        """Prepare a download here, then store it (a small pass, or no worker processes)."""
        try:
            known = partial(self._storage.known_sources, feed.id)
            prepared: Prepared | BaseException = prepare(feed, got, now, known=known)
        except Exception as exc:  # the per-feed boundary, stored as the feed's error below
            prepared = exc
        return self._persist(feed, prepared, now)

    def store(
        self, feed: Feed, prepared: Prepared | BaseException, now: datetime
    ) -> tuple[FeedResult, list[tuple[int, str]]]:
        """Store one prepared download; returns the result and the new articles whose page to
        fetch.

        This is the per-feed boundary: whatever went wrong with one feed (``prepared`` is then
        the exception) is recorded as that feed's error, its transaction rolled back, and the
        pass goes on with the others.
        """
        return self._persist(feed, prepared, now)

    def store_not_modified(
        self, batch: Sequence[tuple[Feed, Prepared, datetime]]
    ) -> list[Reported]:
        """Store a batch of 304s in one transaction; the result of each.

        When the batch cannot be stored (a feed removed meanwhile, a database error), each
        feed is stored alone, so only the feeds at fault end with an error.
        """
        default_interval = self._settings.default_interval
        try:
            decided = [
                (
                    feed,
                    prepared,
                    now,
                    decide(feed, prepared.outcome, now=now, default_interval=default_interval),
                )
                for feed, prepared, now in batch
            ]
            self._storage.record_fetches(
                [(feed.id, update, now) for feed, _, now, update in decided]
            )
        except Exception as exc:
            log.warning("a batch of 304s failed, storing them one by one: %s", exc)
            return [self._persist(feed, prepared, now) for feed, prepared, now in batch]
        return [
            self.report(
                feed, Stored(prepared.kind, prepared.outcome, update.status, (), IngestResult(), [])
            )
            for feed, prepared, _, update in decided
        ]

    def _persist(
        self, feed: Feed, prepared: Prepared | BaseException, now: datetime
    ) -> tuple[FeedResult, list[tuple[int, str]]]:
        try:
            if isinstance(prepared, BaseException):
                raise prepared
            default_interval = self._settings.default_interval
            stored = store_prepared(self._storage, feed, prepared, now, default_interval)
        except Exception as exc:  # the per-feed boundary: record, log, go on
            log.error("feed crashed: url=%s", feed.url, exc_info=exc)
            return self._record_crash(feed, exc), []
        return self.report(feed, stored)

    def report(self, feed: Feed, stored: Stored) -> tuple[FeedResult, list[tuple[int, str]]]:
        """Log what became of a stored download; its result, and the pages to fetch."""
        outcome = stored.outcome
        if isinstance(outcome, Failure):
            log.warning("feed failed: url=%s error=%s", feed.url, outcome.message)
        for problem in stored.problems:
            log.info("feed problem: url=%s problem=%s", feed.url, problem)
        result = FeedResult(
            url=feed.url,
            name=feed.display_name,
            outcome=stored.kind,
            status=stored.status,
            new_articles=len(stored.result.new_ids),
            updated_articles=len(stored.result.updated_ids),
            error=outcome.message if isinstance(outcome, Failure) else None,
            problems=stored.problems,
        )
        return result, stored.pages

    def _record_crash(self, feed: Feed, exc: Exception) -> FeedResult:
        message = f"internal error while processing the feed: {type(exc).__name__}: {exc}"[:500]
        now = self._clock()
        update = decide(
            feed, Failure(message), now=now, default_interval=self._settings.default_interval
        )
        try:
            self._storage.record_fetch(feed.id, update, [], now)
        except Exception:  # the database itself may be the problem; the pass still goes on
            log.exception("could not record the failure: url=%s", feed.url)
        return FeedResult(feed.url, feed.display_name, "failed", update.status, error=message)

    def store_full_text(self, article_id: int, page: FetchResponse) -> None:
        """Replace an article's text with its page's main text, when that says more."""
        extracted = extract_main_text(page.body, page.final_url)
        if extracted is None:
            return
        self._storage.replace_article_text(article_id, extracted.text, extracted.html)

    def cluster_new_articles(self) -> None:
        """Put every article not yet in a story into one (idempotent; redone after a crash)."""
        now = self._clock()
        # In batches, so a first fetch of many feeds is clustered whole in this pass.
        while True:
            new = self._storage.unclustered(limit=CLUSTER_BATCH)
            if not new:
                return
            known = self._storage.story_signatures(now - STORY_WINDOW)
            self._storage.assign_stories(cluster(new, known), now)
            if len(new) < CLUSTER_BATCH:
                return

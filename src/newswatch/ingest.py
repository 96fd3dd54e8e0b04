"""One refresh pass: fetch due feeds, parse, normalise, store, cluster into stories.

Fetches run concurrently on an asyncio loop (``fetch.concurrency``, ``fetch.per_host``); each
finished download is processed — parsed, normalised and stored in one transaction per feed — on
a single worker thread, so the database sees one writer and the loop keeps reading other
responses meanwhile. One bad feed never stops the others: everything that goes wrong with a
feed ends as that feed's recorded error.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any

from newswatch.config import FetchConfig
from newswatch.fetching.errors import FeedParseError
from newswatch.fetching.fulltext import extract_main_text, is_private_host
from newswatch.fetching.http import USER_AGENT, Fetcher, FetchError, FetchResponse
from newswatch.fetching.parse import parse_document
from newswatch.fetching.policy import Failure, Outcome, Success, decide
from newswatch.model import Article, Feed, FeedStatus, IngestResult
from newswatch.normalize import normalize_entries
from newswatch.storage import Storage
from newswatch.stories import cluster
from newswatch.text import absolute_url

log = logging.getLogger(__name__)

#: How far back a new article looks for the story it belongs to.
STORY_WINDOW = timedelta(days=3)
#: Articles clustered per step of a pass (each step reads the window's signatures again).
CLUSTER_BATCH = 10_000


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

    Returns:
        Counts and per-feed results.
    """
    started = clock()
    if lease is not None and not everything and not urls:
        feeds = storage.claim_due_feeds(started, lease.owner, started + lease.duration)
    else:
        feeds = storage.due_feeds(started, everything=everything, urls=urls)
    fetcher = fetcher or make_fetcher(settings)
    processor = _Processor(storage, settings, clock)
    results = asyncio.run(_fetch_all(feeds, fetcher, processor, progress, stop)) if feeds else []
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


#: How often a running pass looks at its stop flag.
_STOP_POLL = 0.2


def make_fetcher(settings: FetchConfig) -> Fetcher:
    """A fetcher with the limits of the ``fetch:`` config."""
    return Fetcher(
        timeout=settings.timeout.total_seconds(),
        max_bytes=settings.max_bytes,
        concurrency=settings.concurrency,
        per_host=settings.per_host,
        user_agent=settings.user_agent or USER_AGENT,
    )


async def _fetch_all(
    feeds: Sequence[Feed],
    fetcher: Fetcher,
    processor: _Processor,
    progress: Progress | None,
    stop: threading.Event | None,
) -> list[FeedResult]:
    loop = asyncio.get_running_loop()
    results: list[FeedResult] = []

    async def download(feed: Feed) -> tuple[Feed, FetchResponse | FetchError]:
        try:
            return feed, await fetcher.fetch(
                feed.url, etag=feed.etag, last_modified=feed.last_modified
            )
        except FetchError as exc:
            return feed, exc
        except Exception as exc:  # the per-feed boundary, for the download half
            log.exception("feed download crashed: url=%s", feed.url)
            return feed, FetchError(f"internal error: {type(exc).__name__}: {exc}", kind="bug")

    async def full_text(feed: Feed, article_id: int, url: str) -> None:
        # A hostile feed must not make newswatch probe the local network: article links may
        # reach private addresses only when the feed itself lives there, or the config says so.
        allow = processor.allow_private_links or is_private_host(feed.url)
        try:
            page = await fetcher.fetch(url, accept="text/html, */*;q=0.5", allow_private=allow)
            if 200 <= page.status < 300:
                await loop.run_in_executor(worker, processor.store_full_text, article_id, page)
        except FetchError as exc:
            log.info("full text skipped: url=%s error=%s", url, exc)
        except Exception:  # an article page is an extra: it never fails the pass
            log.exception("full text failed: url=%s", url)

    pages: set[asyncio.Task[None]] = set()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="newswatch-store") as worker:
        async with fetcher:
            pending: set[asyncio.Task[tuple[Feed, FetchResponse | FetchError]]] = {
                asyncio.create_task(download(feed)) for feed in feeds
            }
            while pending:
                done, pending = await asyncio.wait(
                    pending, timeout=_STOP_POLL, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    feed, got = task.result()
                    result, wanted = await loop.run_in_executor(
                        worker, processor.process, feed, got
                    )
                    pages.update(asyncio.create_task(full_text(feed, i, u)) for i, u in wanted)
                    results.append(result)
                    if progress is not None:
                        progress(result, len(results), len(feeds))
                if stop is not None and stop.is_set():
                    log.info("fetch pass stopped early: %d feeds left", len(pending))
                    await _cancel(pending | pages)
                    return results
            while pages:
                _, pages = await asyncio.wait(pages, timeout=_STOP_POLL)
                if stop is not None and stop.is_set():
                    await _cancel(pages)
                    break
    return results


async def _cancel(tasks: set[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class _Processor:
    """Turns one download into stored state. Runs on the single storage thread."""

    def __init__(self, storage: Storage, settings: FetchConfig, clock: Clock) -> None:
        self._storage = storage
        self._settings = settings
        self._clock = clock
        self.allow_private_links = settings.allow_private_links

    def process(
        self, feed: Feed, got: FetchResponse | FetchError
    ) -> tuple[FeedResult, list[tuple[int, str]]]:
        """Store one download; returns the result and the new articles whose page to fetch.

        This is the per-feed boundary: whatever goes wrong with one feed is recorded as that
        feed's error (its transaction rolled back), and the pass goes on with the others.
        """
        try:
            result, articles, stored = self._process(feed, got)
        except Exception as exc:  # the per-feed boundary: record, log, go on
            log.exception("feed crashed: url=%s", feed.url)
            return self._record_crash(feed, exc), []
        wanted: list[tuple[int, str]] = []
        if feed.full_text and stored.new_ids:
            urls = {a.entry_key: a.url for a in articles}
            for article_id in stored.new_ids:
                article = self._storage.get_article(article_id)
                url = urls.get(article.entry_key) if article else None
                if url:
                    wanted.append((article_id, url))
        return result, wanted

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

    def _process(
        self, feed: Feed, got: FetchResponse | FetchError
    ) -> tuple[FeedResult, list[Article], IngestResult]:
        now = self._clock()
        articles: list[Article] = []
        problems: tuple[str, ...] = ()
        outcome: Outcome
        kind: str
        if isinstance(got, FetchError):
            outcome, kind = Failure(str(got)), "failed"
        elif got.status == 304 and feed.body_hash is None:
            # "Not modified" since when? Nothing was ever fetched: the server is wrong, and
            # taking it at its word would leave the feed looking healthy and empty for ever.
            message = "HTTP 304 Not Modified, but nothing was fetched before"
            outcome, kind = Failure(message, 304, got.headers), "failed"
        elif got.status == 304:
            outcome = Success(got.headers, permanent_redirect=got.permanent_redirect)
            kind = "not_modified"
        elif not 200 <= got.status < 300:
            outcome, kind = Failure(_http_error(got), got.status, got.headers), "failed"
        else:
            body_hash = hashlib.sha256(got.body).hexdigest()
            if body_hash == feed.body_hash:
                outcome = Success(got.headers, body_hash, permanent_redirect=got.permanent_redirect)
                kind = "unchanged"
            else:
                outcome, articles, problems = self._parse(feed, got, body_hash, now)
                kind = "fetched" if isinstance(outcome, Success) else "failed"

        update = decide(feed, outcome, now=now, default_interval=self._settings.default_interval)
        stored = self._storage.record_fetch(feed.id, update, articles, now)
        if isinstance(outcome, Failure):
            log.warning("feed failed: url=%s error=%s", feed.url, outcome.message)
        for problem in problems:
            log.info("feed problem: url=%s problem=%s", feed.url, problem)
        result = FeedResult(
            url=feed.url,
            name=feed.display_name,
            outcome=kind,
            status=update.status,
            new_articles=len(stored.new_ids),
            updated_articles=len(stored.updated_ids),
            error=outcome.message if isinstance(outcome, Failure) else None,
            problems=problems,
        )
        return result, articles, stored

    def _parse(
        self, feed: Feed, got: FetchResponse, body_hash: str, now: datetime
    ) -> tuple[Outcome, list[Article], tuple[str, ...]]:
        try:
            parsed = parse_document(got.body, url=got.final_url, headers=got.headers)
        except FeedParseError as exc:
            return Failure(str(exc), got.status, got.headers), [], ()
        articles = normalize_entries(
            parsed.entries,
            feed_id=feed.id,
            feed_url=got.final_url,
            feed_language=parsed.language,
            fetched_at=now,
            # The entries a feed holds when first seen are history, not news.
            backlog=feed.last_success_at is None and not feed.backfill,
        )
        success = Success(
            got.headers,
            body_hash,
            ttl_seconds=parsed.ttl_seconds,
            permanent_redirect=got.permanent_redirect,
            title=_clean(parsed.title, 500),
            site_url=absolute_url(_clean(parsed.site_url, 2000)),
            problem="; ".join(parsed.problems)[:500] or None,
            parsed=True,
        )
        return success, articles, parsed.problems

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


def _clean(value: str | None, limit: int) -> str | None:
    if not value:
        return None
    return value.replace("\x00", "")[:limit] or None


def _http_error(response: FetchResponse) -> str:
    try:
        phrase = HTTPStatus(response.status).phrase
    except ValueError:
        phrase = "unknown status"
    return f"HTTP {response.status} {phrase}"

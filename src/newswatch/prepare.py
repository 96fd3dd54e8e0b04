"""Turning one feed download into stored state: an outcome and clean, tagged articles.

``prepare`` is a pure function of the download, the feed's stored state and the time: it checks
the status and the body hash, parses, normalises and, given topics, tags. ``store_prepared``
writes the result in one transaction. A pass over many feeds runs both in worker processes
(``PreparePool``), one per core, while the main process keeps downloading; a small pass runs
them on its storage thread. Either way the stored result is the same.
"""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from http import HTTPStatus
from typing import TYPE_CHECKING, Literal, TypeAlias

from newswatch.fetching.errors import FeedParseError
from newswatch.fetching.policy import Failure, Outcome, Success, decide
from newswatch.fetching.response import FetchError, FetchResponse
from newswatch.model import Article, Feed, FeedStatus, IngestResult, TopicDefinition, TopicMatch
from newswatch.storage import Storage, StorageAddress
from newswatch.text import absolute_url

if TYPE_CHECKING:
    from newswatch.tagging.matcher import Tagger

#: What making articles of a document takes: the feed parser, the normaliser, the tagger. They
#: are imported when a download is first prepared, so a pass whose worker processes prepare
#: every download never loads them in the main process (about 10 MiB there); the fork server
#: the workers come from loads them once for all of them.
PREPARING_MODULES = ("newswatch.fetching.parse", "newswatch.normalize", "newswatch.tagging.apply")

#: What became of a download: new content, 304, the same body as last time, or an error.
Kind = Literal["fetched", "not_modified", "unchanged", "failed"]

#: A pass with fewer feeds than this to fetch stays in one process: starting workers costs
#: more than they would save.
POOL_MIN_FEEDS = 24
#: Workers when ``fetch.workers`` is not set: one per CPU, up to this many.
MAX_AUTO_WORKERS = 4


@dataclass(frozen=True, slots=True)
class Prepared:
    """A download, ready to store."""

    outcome: Outcome
    kind: Kind
    articles: list[Article] = field(default_factory=list)
    problems: tuple[str, ...] = ()
    #: The articles' topic matches by entry key, when they were tagged here.
    matches: dict[str, list[TopicMatch]] | None = None
    #: Entry keys of the document's entries stored before exactly as they are now: neither
    #: normalised nor tagged again.
    unchanged_keys: frozenset[str] = frozenset()


#: Entry keys of a feed's stored articles by source hash, for some hashes (``known_sources``).
KnownSources: TypeAlias = Callable[[list[str]], Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class Topics:
    """A tagger and the version of each of its topics, by slug."""

    tagger: Tagger
    versions: dict[str, int]

    @classmethod
    def compile(cls, definitions: Sequence[TopicDefinition]) -> Topics:
        """Compile stored topic definitions."""
        from newswatch.tagging.apply import make_tagger

        tagger = make_tagger(definitions)
        return cls(tagger, {rule.slug: rule.version for rule in tagger.rules})


def prepare(
    feed: Feed,
    got: FetchResponse | FetchError,
    now: datetime,
    topics: Topics | None = None,
    known: KnownSources | None = None,
) -> Prepared:
    """Decide what a download means for the feed and turn its entries into articles.

    Args:
        feed: the feed as stored before this fetch (validators, last body hash, backfill).
        got: the response, or why there was none.
        now: the fetch time.
        topics: tag the articles with these topics too (new and changed articles are then
            stored tagged).
        known: looks up which entries are stored exactly as they are now (by source hash);
            those are left out. Without it, every entry is normalised.
    """
    if isinstance(got, FetchError):
        return Prepared(Failure(str(got)), "failed")
    if got.status == 304 and feed.body_hash is None:
        # "Not modified" since when? Nothing was ever fetched: the server is wrong, and taking
        # it at its word would leave the feed looking healthy and empty for ever.
        message = "HTTP 304 Not Modified, but nothing was fetched before"
        return Prepared(Failure(message, 304, got.headers), "failed")
    if got.status == 304:
        return Prepared(
            Success(got.headers, permanent_redirect=got.permanent_redirect), "not_modified"
        )
    if not 200 <= got.status < 300:
        return Prepared(Failure(http_error(got), got.status, got.headers), "failed")
    body_hash = hashlib.sha256(got.body).hexdigest()
    if body_hash == feed.body_hash:
        success = Success(got.headers, body_hash, permanent_redirect=got.permanent_redirect)
        return Prepared(success, "unchanged")
    from newswatch.fetching.parse import parse_document  # see PREPARING_MODULES
    from newswatch.normalize import normalize_document, source_hash

    try:
        parsed = parse_document(got.body, url=got.final_url, headers=got.headers)
    except FeedParseError as exc:
        return Prepared(Failure(str(exc), got.status, got.headers), "failed")
    stored: Mapping[str, str] = {}
    if known is not None and parsed.entries and feed.body_hash is not None:
        # (A feed never fetched before has nothing stored to look up.)
        stored = known([source_hash(entry, got.final_url) for entry in parsed.entries])
    normalized = normalize_document(
        parsed.entries,
        feed_id=feed.id,
        feed_url=got.final_url,
        feed_language=parsed.language,
        fetched_at=now,
        # The entries a feed holds when first seen are history, not news.
        backlog=feed.last_success_at is None and not feed.backfill,
        known=stored,
    )
    articles = normalized.articles
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
    matches = None
    if topics is not None:
        from newswatch.tagging.apply import topic_matches

        matches = {
            a.entry_key: topic_matches(topics.tagger, a, 0, topics.versions) for a in articles
        }
    return Prepared(success, "fetched", articles, parsed.problems, matches, normalized.unchanged)


@dataclass(frozen=True, slots=True)
class Stored:
    """A download prepared and stored (by a worker process): what the pass reports of it."""

    kind: Kind
    outcome: Outcome
    status: FeedStatus
    problems: tuple[str, ...]
    result: IngestResult
    #: The new articles of a full-text feed, with the link of the page to fetch for each.
    pages: list[tuple[int, str]]


def store_prepared(
    storage: Storage, feed: Feed, prepared: Prepared, now: datetime, default_interval: timedelta
) -> Stored:
    """Store a prepared download: the feed's new state and its articles, in one transaction."""
    update = decide(feed, prepared.outcome, now=now, default_interval=default_interval)
    result = storage.record_fetch(
        feed.id,
        update,
        prepared.articles,
        now,
        matches=prepared.matches,
        unchanged_keys=prepared.unchanged_keys,
    )
    pages: list[tuple[int, str]] = []
    if feed.full_text and result.new_ids:
        urls = {a.entry_key: a.url for a in prepared.articles}
        for article_id in result.new_ids:
            article = storage.get_article(article_id)
            url = urls.get(article.entry_key) if article else None
            if url:
                pages.append((article_id, url))
    return Stored(prepared.kind, prepared.outcome, update.status, prepared.problems, result, pages)


def http_error(response: FetchResponse) -> str:
    """``HTTP 503 Service Unavailable``: a failed status, as feed errors show it."""
    try:
        phrase = HTTPStatus(response.status).phrase
    except ValueError:
        phrase = "unknown status"
    return f"HTTP {response.status} {phrase}"


def _clean(value: str | None, limit: int) -> str | None:
    if not value:
        return None
    return value.replace("\x00", "")[:limit] or None


def pool_size(setting: int | None) -> int:
    """Worker processes for ``fetch.workers``: that many, or by default one per CPU, at most
    ``MAX_AUTO_WORKERS``, and none on a single CPU (a worker there only adds the cost of
    sending the articles between processes)."""
    if setting is not None:
        return setting
    cpus = os.cpu_count() or 1
    return min(cpus, MAX_AUTO_WORKERS) if cpus > 1 else 0


class PreparePool:
    """Worker processes that prepare downloads and store them, each with its own database
    connection and the topics compiled once.

    Storing in the workers keeps the main process free for downloading: with a database
    that indexes every article for search, storing costs as much as parsing. Writes still go
    one at a time (SQLite's lock, PostgreSQL's row locks); the work around them runs on every
    core. Workers come from a fork server (started once per process, clean of the daemon's
    threads and open connections), so starting a pool is cheap after the first time.
    """

    def __init__(
        self,
        workers: int,
        topics: Sequence[TopicDefinition] | None,
        database: StorageAddress,
        default_interval: timedelta,
    ) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__, *PREPARING_MODULES])
        definitions = None if topics is None else tuple(topics)
        # Workers take turns to write, through this lock: one waiting for SQLite's own lock
        # would sleep in steps of up to 100 ms, one waiting here wakes when it is free.
        writing = context.Lock()
        #: Held by whoever writes to the database during the pass: the workers, and the main
        #: process when it stores a batch of 304s.
        self.writing: AbstractContextManager[object] = writing
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(definitions, database, default_interval, writing),
        )

    def submit(self, feed: Feed, got: FetchResponse | FetchError, now: datetime) -> Future[Stored]:
        """Prepare and store one download in a worker (raises ``BrokenProcessPool`` if one
        died; any other exception is the feed's, its transaction rolled back)."""
        return self._executor.submit(_prepare_in_worker, feed, got, now)

    def close(self, *, wait: bool = True) -> None:
        """Stop the workers; work not started is dropped, and without ``wait`` the work under
        way too (the workers are terminated; a transaction cut short is rolled back)."""
        if not wait:
            # The executor has no public way to stop a busy worker before Python 3.14.
            processes = dict(getattr(self._executor, "_processes", None) or {})
            for process in processes.values():
                process.terminate()
        self._executor.shutdown(wait=True, cancel_futures=True)


class _Worker:
    """What a worker process keeps between downloads (set once, by ``_start_worker``)."""

    topics: Topics | None = None
    storage: Storage | None = None
    default_interval = timedelta(minutes=30)
    writing: AbstractContextManager[object] = nullcontext()


def _start_worker(
    definitions: tuple[TopicDefinition, ...] | None,
    database: StorageAddress,
    default_interval: timedelta,
    writing: AbstractContextManager[object],
) -> None:
    # Everything this process inherited from the fork server (the imported modules) shares its
    # pages with the server and the other workers until written to. The cyclic collector writes
    # to every object it examines, which would give each worker a private copy of them all:
    # it is told to leave the inherited objects alone (they live as long as the process anyway).
    gc.freeze()
    _Worker.topics = None if definitions is None else Topics.compile(definitions)
    _Worker.storage = database.open()
    _Worker.default_interval = default_interval
    _Worker.writing = writing


def _prepare_in_worker(feed: Feed, got: FetchResponse | FetchError, now: datetime) -> Stored:
    assert _Worker.storage is not None, "worker not started"
    storage = _Worker.storage
    prepared = prepare(feed, got, now, _Worker.topics, partial(storage.known_sources, feed.id))
    with _Worker.writing:
        return store_prepared(storage, feed, prepared, now, _Worker.default_interval)

"""Turning one feed download into what storage needs: an outcome and clean (tagged) articles.

``prepare`` is a pure function of the download, the feed's stored state and the time: it checks
the status and the body hash, parses, normalises and, given a tagger, tags. A pass over many
feeds runs it in worker processes (``PreparePool``), one per core, while the storage thread
stores what comes back and the event loop keeps downloading; a small pass runs it in its own
thread. Either way the result is the same.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Literal

from newswatch.fetching.errors import FeedParseError
from newswatch.fetching.http import FetchError, FetchResponse
from newswatch.fetching.parse import parse_document
from newswatch.fetching.policy import Failure, Outcome, Success
from newswatch.model import Article, Feed, TopicDefinition, TopicMatch
from newswatch.normalize import normalize_entries
from newswatch.tagging.apply import make_tagger, topic_matches
from newswatch.tagging.matcher import Tagger
from newswatch.text import absolute_url

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


@dataclass(frozen=True, slots=True)
class Topics:
    """A tagger and the version of each of its topics, by slug."""

    tagger: Tagger
    versions: dict[str, int]

    @classmethod
    def compile(cls, definitions: Sequence[TopicDefinition]) -> Topics:
        """Compile stored topic definitions."""
        tagger = make_tagger(definitions)
        return cls(tagger, {rule.slug: rule.version for rule in tagger.rules})


def prepare(
    feed: Feed, got: FetchResponse | FetchError, now: datetime, topics: Topics | None = None
) -> Prepared:
    """Decide what a download means for the feed and turn its entries into articles.

    Args:
        feed: the feed as stored before this fetch (validators, last body hash, backfill).
        got: the response, or why there was none.
        now: the fetch time.
        topics: tag the articles with these topics too (new and changed articles are then
            stored tagged).
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
    try:
        parsed = parse_document(got.body, url=got.final_url, headers=got.headers)
    except FeedParseError as exc:
        return Prepared(Failure(str(exc), got.status, got.headers), "failed")
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
    matches = None
    if topics is not None:
        matches = {
            a.entry_key: topic_matches(topics.tagger, a, 0, topics.versions) for a in articles
        }
    return Prepared(success, "fetched", articles, parsed.problems, matches)


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
    """Worker processes running ``prepare``, each with the topics compiled once.

    Workers come from a fork server (started once per process, clean of the daemon's threads
    and open connections), so starting a pool is cheap after the first time.
    """

    def __init__(self, workers: int, topics: Sequence[TopicDefinition] | None) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(None if topics is None else tuple(topics),),
        )

    def submit(
        self, feed: Feed, got: FetchResponse | FetchError, now: datetime
    ) -> Future[Prepared]:
        """Prepare one download in a worker (raises ``BrokenProcessPool`` if one died)."""
        return self._executor.submit(_prepare_in_worker, feed, got, now)

    def close(self, *, wait: bool = True) -> None:
        """Stop the workers; work not started is dropped, and without ``wait`` the work under
        way too (the workers are terminated)."""
        if not wait:
            # The executor has no public way to stop a busy worker before Python 3.14.
            processes = dict(getattr(self._executor, "_processes", None) or {})
            for process in processes.values():
                process.terminate()
        self._executor.shutdown(wait=True, cancel_futures=True)


#: In a worker process: the compiled topics, under "topics" (absent: no tagging there).
_worker: dict[str, Topics] = {}


def _start_worker(definitions: tuple[TopicDefinition, ...] | None) -> None:
    if definitions is not None:
        _worker["topics"] = Topics.compile(definitions)


def _prepare_in_worker(feed: Feed, got: FetchResponse | FetchError, now: datetime) -> Prepared:
    return prepare(feed, got, now, _worker.get("topics"))

"""304s are stored in batches (one transaction for many feeds): every feed's state must still
be stored, and reported, as when each had its own transaction."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from builders import Clock, rss_document
from feedserver import FeedServer
from newswatch.app import Monitor
from newswatch.ingest import FeedResult
from newswatch.model import FeedStatus
from newswatch.prepare import POOL_MIN_FEEDS

XML = {"Content-Type": "application/rss+xml"}
FEEDS = POOL_MIN_FEEDS + 6  # enough for worker processes


def _feed(n: int, version: int = 1) -> bytes:
    items = [(f"f{n}-{version}", f"Feed {n}, version {version}", f"https://x.example/{n}", "Text.")]
    return rss_document(items, title=f"Feed {n}")


def _serve(server: FeedServer, count: int) -> list[str]:
    return [
        server.route(f"/f{n}.xml", body=_feed(n), etag=f"v1-{n}", headers=XML) for n in range(count)
    ]


def test_every_304_of_a_large_pass_is_stored_and_reported(
    feed_server: FeedServer, build: Callable[..., Monitor], database_url: str, clock: Clock
) -> None:
    urls = _serve(feed_server, FEEDS)
    monitor = build(database_url, [{"url": url} for url in urls], per_host=8, workers=2)
    assert monitor.fetch(everything=True).fetched == FEEDS
    clock.now += timedelta(hours=1)
    feed_server.route("/f0.xml", body=_feed(0, 2), etag="v2-0", headers=XML)
    seen: list[FeedResult] = []
    summary = monitor.fetch(everything=True, progress=lambda r, _done, _all: seen.append(r))

    assert (summary.feeds, summary.fetched, summary.not_modified, summary.failed) == (
        FEEDS,
        1,
        FEEDS - 1,
        0,
    )
    assert Counter(r.outcome for r in summary.results) == {"fetched": 1, "not_modified": FEEDS - 1}
    assert sorted(r.url for r in seen) == sorted(urls)
    for feed in monitor.storage.list_feeds():
        assert feed.last_fetched_at == clock.now, feed.url
        assert feed.last_success_at == clock.now, feed.url
        assert feed.status is FeedStatus.OK
        assert feed.next_fetch_at is not None
        assert feed.next_fetch_at > clock.now
    # A third pass sends the validators the second one stored.
    clock.now += timedelta(hours=1)
    assert monitor.fetch(everything=True).not_modified == FEEDS
    assert feed_server.requests_to("/f0.xml")[-1].header("if-none-match") == '"v2-0"'


def test_a_small_pass_stores_its_304s_in_one_process(
    feed_server: FeedServer, build: Callable[..., Monitor], database_url: str, clock: Clock
) -> None:
    urls = _serve(feed_server, 3)
    monitor = build(database_url, [{"url": url} for url in urls])
    monitor.fetch(everything=True)
    clock.now += timedelta(hours=1)
    summary = monitor.fetch(everything=True)
    assert summary.not_modified == 3
    assert {f.last_fetched_at for f in monitor.storage.list_feeds()} == {clock.now}


def test_a_stopped_pass_stores_the_304s_it_downloaded(
    feed_server: FeedServer, build: Callable[..., Monitor], database_url: str, clock: Clock
) -> None:
    urls = _serve(feed_server, FEEDS)
    slow = feed_server.route("/slow.xml", body=_feed(99), etag="s", headers=XML)
    monitor = build(database_url, [{"url": url} for url in [*urls, slow]], per_host=8)
    monitor.fetch(everything=True)
    clock.now += timedelta(hours=1)
    feed_server.route("/slow.xml", body=_feed(99), etag="s", headers=XML, delay=20)
    stop = threading.Event()
    timer = threading.Timer(1.5, stop.set)
    timer.start()
    try:
        summary = monitor.fetch(everything=True, stop=stop)
    finally:
        timer.cancel()
    assert summary.not_modified == FEEDS
    stored = {f.url: f.last_fetched_at for f in monitor.storage.list_feeds()}
    assert all(stored[url] == clock.now for url in urls)
    assert stored[slow] < clock.now

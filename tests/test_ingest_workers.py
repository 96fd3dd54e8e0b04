"""A large pass prepares feeds in worker processes; what it stores equals a one-process pass.

Real feeds (../shared/data/feeds) plus outlets carrying the briefing's stories are served over
HTTP; the same pass runs once with ``fetch.workers: 0`` (everything on the storage thread, then
tagged by ``Monitor.tag``) and once with two worker processes (parsed, normalised and tagged
there). Articles, stories and topic matches must come out the same.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from builders import BRIEFING_NEWS, Clock, rss_document
from feedserver import FeedServer, Route
from newswatch.app import Monitor, make_monitor
from newswatch.config import load_config
from newswatch.prepare import POOL_MIN_FEEDS

REPO = Path(__file__).resolve().parent.parent


def _serve_corpus(server: FeedServer, shared_feeds: Path) -> list[str]:
    """The real feeds (unchanged when fetched again) and six outlets, whose second document
    corrects one story, adds one, and has a new channel title."""
    urls = [
        server.serve_file(f"/real/{path.name}", path)
        for path in sorted(shared_feeds.iterdir())
        if path.name != "MANIFEST.tsv"
    ]
    stories = list(BRIEFING_NEWS.items())
    for outlet in range(6):
        items = [
            (f"o{outlet}-{key}", title, f"https://outlet{outlet}.example/{key}", text)
            for key, (title, text) in stories[outlet:] + stories[:outlet]
        ]
        first = rss_document(items[1:], title=f"Outlet {outlet}")
        guid, title, link, text = items[3]
        corrected = [*items[:3], (guid, title, link, f"Correction: {text}"), *items[4:]]
        second = rss_document(corrected, title=f"Outlet {outlet} (updated)")
        urls.append(
            server.route(f"/outlet{outlet}.xml", responses=[Route(body=first), Route(body=second)])
        )
    return urls


def _snapshot(monitor: Monitor) -> dict[str, Any]:
    """What the pass stored, independent of ids and of the order feeds finished in."""
    storage = monitor.storage
    feeds = {feed.id: feed.url for feed in storage.list_feeds()}
    articles = {}
    story_members: dict[int | None, set[tuple[str, str]]] = {}
    stored = storage.articles_to_tag(limit=100_000, everything=True)
    assert len(stored) < 100_000
    for article in stored:
        key = (feeds[article.feed_id], article.entry_key)
        assert article.id is not None
        matches = sorted(
            (m.topic_slug, round(m.score, 6), m.snippet, m.evidence)
            for m in storage.matches_for(article.id)
        )
        articles[key] = (
            article.title,
            article.summary,
            article.content_text,
            article.url,
            article.published_at,
            article.simhash,
            article.backlog,
            matches,
        )
        story_members.setdefault(article.story_id, set()).add(key)
    stories = sorted(sorted(members) for members in story_members.values())
    feed_state = sorted((f.url, f.status, f.title, f.last_problem) for f in storage.list_feeds())
    return {"articles": articles, "stories": stories, "feeds": feed_state}


def test_worker_processes_store_what_one_process_stores(
    feed_server: FeedServer,
    shared_feeds: Path,
    write_config: Callable[..., Path],
    tmp_path: Path,
) -> None:
    snapshots = []
    for workers in (0, 2):
        urls = _serve_corpus(feed_server, shared_feeds)  # afresh: the first document again
        assert len(urls) >= POOL_MIN_FEEDS  # or the pool would not be used at all
        path = write_config(
            {
                "database": {"url": f"sqlite:///{tmp_path}/workers-{workers}.db"},
                "fetch": {"timeout": "5s", "workers": workers, "per_host": 8},
                "feeds": [{"url": url} for url in urls],
                "topics_file": str(REPO / "config" / "topics.yaml"),
            },
            name=f"workers-{workers}.yaml",
        )
        monitor = make_monitor(load_config(path, environ={}), clock=Clock())
        try:
            summary = monitor.fetch(everything=True)
            first = _snapshot(monitor)
            again = monitor.fetch(everything=True)
            snapshots.append((summary, first, again, _snapshot(monitor)))
        finally:
            monitor.close()
    (alone, in_thread, alone_again, in_thread_again) = snapshots[0]
    (pooled, in_workers, pooled_again, in_workers_again) = snapshots[1]
    # The second pass: the real feeds answer 304, each outlet has one story corrected and
    # one new; the other entries are known by their source hash and not made again.
    assert (alone_again.new_articles, alone_again.updated_articles) == (6, 6)
    assert (pooled_again.new_articles, pooled_again.updated_articles) == (6, 6)
    assert in_workers_again == in_thread_again
    assert in_thread_again != in_thread
    assert pooled.new_articles == alone.new_articles > 200
    assert pooled.failed == alone.failed
    assert in_workers["feeds"] == in_thread["feeds"]
    assert in_workers["articles"] == in_thread["articles"]
    assert in_workers["stories"] == in_thread["stories"]
    tagged = [a for a in in_workers["articles"].values() if a[-1]]
    assert len(tagged) >= 5 * 6  # most briefing stories are on a topic, in each outlet


def test_no_worker_processes_when_told(
    feed_server: FeedServer,
    write_config: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import newswatch.ingest

    def refuse(*_args: object) -> None:
        raise AssertionError("a worker pool was started")

    monkeypatch.setattr(newswatch.ingest, "PreparePool", refuse)
    title, text = BRIEFING_NEWS["guarantees"]
    urls = [
        feed_server.route(
            f"/f{n}.xml", body=rss_document([(f"g{n}", title, f"https://x.example/{n}", text)])
        )
        for n in range(POOL_MIN_FEEDS)
    ]
    path = write_config(
        {
            "database": {"url": f"sqlite:///{tmp_path}/n.db"},
            "fetch": {"workers": 0, "per_host": 8},
            "feeds": [{"url": url} for url in urls],
        }
    )
    monitor = make_monitor(load_config(path, environ={}), clock=Clock())
    try:
        assert monitor.fetch(everything=True).new_articles == POOL_MIN_FEEDS
    finally:
        monitor.close()


def test_a_failed_download_reaches_a_worker_intact(
    feed_server: FeedServer,
    write_config: Callable[..., Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A download that failed (here: connection refused) is sent to a worker like any other;
    it used to fail to unpickle there, killing the worker and the pool with it."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    title, text = BRIEFING_NEWS["guarantees"]
    urls = [
        feed_server.route(
            f"/w{n}.xml", body=rss_document([(f"w{n}", title, f"https://w.example/{n}", text)])
        )
        for n in range(POOL_MIN_FEEDS)
    ]
    urls.append(f"http://127.0.0.1:{closed}/gone.xml")
    path = write_config(
        {
            "database": {"url": f"sqlite:///{tmp_path}/f.db"},
            "fetch": {"timeout": "5s", "workers": 1, "per_host": 8},
            "feeds": [{"url": url} for url in urls],
        }
    )
    monitor = make_monitor(load_config(path, environ={}), clock=Clock())
    try:
        summary = monitor.fetch(everything=True)
    finally:
        monitor.close()
    assert summary.failed == 1
    assert summary.new_articles == POOL_MIN_FEEDS
    assert not [r for r in caplog.records if "worker process died" in r.getMessage()]

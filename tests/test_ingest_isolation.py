"""Review: hostile feeds that break "one bad feed never hurts the others" end to end.

``_Processor.process`` (ingest.py) only catches ``FeedParseError``; anything else raised while
deciding, normalising or storing one feed escapes ``asyncio.as_completed`` in ``_fetch_all``
and aborts the whole pass. Because the bad feed's state is never written, it stays due and the
next pass aborts again. Each test below names the input that gets through.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from builders import Clock
from feedserver import FeedServer
from newswatch.app import Monitor
from newswatch.model import FeedStatus

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>T</title><link>{site}</link>{extra}
<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>
<description>Body text.</description><pubDate>Wed, 25 Nov 2026 10:00:00 GMT</pubDate></item>
</channel></rss>"""
XML = {"Content-Type": "application/rss+xml"}


def rss(
    guid: str = "g1",
    title: str = "Title",
    link: str = "https://n.example/1",
    site: str = "https://n.example/",
    extra: str = "",
) -> bytes:
    return RSS.format(guid=guid, title=title, link=link, site=site, extra=extra).encode()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'review.db'}"


def test_non_ascii_etag_does_not_abort_later_passes(
    feed_server: FeedServer, build: Callable[..., Monitor], database_url: str, clock: Clock
) -> None:
    """Bug: an ETag httpx decoded as Latin-1 is stored, then sent back as If-None-Match;
    building that request raises UnicodeEncodeError (http.py:164-166) outside FetchError, so
    every pass from the second on aborts."""
    good = feed_server.route("/good", body=rss(), headers=XML)
    odd = feed_server.route("/odd", body=rss(guid="o1"), headers={**XML, "ETag": '"caf\xe9"'})
    monitor = build(database_url, [{"url": good}, {"url": odd}])
    monitor.fetch()
    clock.now += timedelta(hours=1)
    summary = monitor.fetch(everything=True)  # raises UnicodeEncodeError today
    assert summary.feeds == 2


def test_an_exception_in_one_feed_is_recorded_not_raised(
    feed_server: FeedServer, build: Callable[..., Monitor], sqlite_url: str
) -> None:
    """Bug: a 503 with an absurd Retry-After raises OverflowError in decide(); the per-feed
    boundary in ingest.py does not catch it, so the pass aborts and the good feed's result is
    never reported."""
    good = feed_server.route("/good", body=rss(), headers=XML)
    busy = feed_server.route("/busy", status=503, headers={"Retry-After": "99999999999999"})
    monitor = build(sqlite_url, [{"url": good}, {"url": busy}])
    summary = monitor.fetch()  # raises OverflowError today
    assert (summary.feeds, summary.failed, summary.new_articles) == (2, 1, 1)


def test_nul_characters_are_dropped_not_fatal(
    feed_server: FeedServer, build: Callable[..., Monitor], database_url: str
) -> None:
    """Bug: NUL survives normalisation (html_to_text's plain-text path, text.py:247-248, skips
    the control-character filter; GUIDs, authors and links are not filtered at all). SQLite
    stores it; PostgreSQL refuses it with DataError, which aborts the pass."""
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "items": [
            {
                "id": "1\u0000",
                "title": "a\u0000b",
                "content_text": "x\u0000y",
                "url": "https://n.example/j",
            }
        ],
    }
    good = feed_server.route("/good", body=rss(), headers=XML)
    nul = feed_server.route(
        "/nul.json",
        body=json.dumps(document).encode(),
        headers={"Content-Type": "application/feed+json"},
    )
    monitor = build(database_url, [{"url": good}, {"url": nul}])
    summary = monitor.fetch()  # PostgreSQL: raises DataError today
    assert summary.new_articles == 2
    stored = [monitor.storage.get_article(i) for i in (1, 2)]
    for article in stored:
        assert article is not None
        for value in (article.title, article.content_text, article.summary, article.guid or ""):
            assert "\x00" not in value, article


def test_a_very_long_link_is_stored_or_skipped_not_fatal(
    feed_server: FeedServer, build: Callable[..., Monitor], database_url: str
) -> None:
    """Bug: canonical_url is unbounded but indexed (ix_articles_canonical_url); on PostgreSQL
    a ~9 kB link exceeds the btree row limit, the INSERT fails with OperationalError, which
    store.py:145 even reports as "database ... failed" (DatabaseUnavailableError)."""
    rng = random.Random(1)
    path = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(9000))
    good = feed_server.route("/good", body=rss(), headers=XML)
    long = feed_server.route(
        "/long", body=rss(guid="", link=f"https://a.example/{path}"), headers=XML
    )
    monitor = build(database_url, [{"url": good}, {"url": long}])
    summary = monitor.fetch()  # PostgreSQL: raises DatabaseUnavailableError today
    assert summary.feeds == 2
    assert summary.new_articles >= 1


def test_waiting_for_a_per_host_slot_is_not_a_timeout(
    feed_server: FeedServer, build: Callable[..., Monitor], sqlite_url: str
) -> None:
    """Bug: http.py:171 starts the total-time budget before _follow waits for the per-host
    semaphore (http.py:190), so feeds queued behind slow siblings on the same host "time out"
    without ever sending a request, and are backed off. Here 8 feeds on one host answer in 1 s
    each, per_host=2, timeout=3s: only 4 ever succeed."""
    urls = [
        feed_server.route(f"/slow{i}", body=rss(guid=f"s{i}"), headers=XML, delay=1.0)
        for i in range(8)
    ]
    monitor = build(sqlite_url, [{"url": u} for u in urls], per_host=2, timeout="3s")
    summary = monitor.fetch()
    errors = [r.error for r in summary.results if r.error]
    assert summary.failed == 0, errors


def test_rss_ttl_floor_still_applies_after_a_304(
    feed_server: FeedServer, build: Callable[..., Monitor], sqlite_url: str, clock: Clock
) -> None:
    """Bug: the <ttl> floor is only known on fetches that parse a body (ingest.py Success for
    304/unchanged carries ttl_seconds=None and Feed has no ttl field), so after the first 304
    the feed is polled at its 30-minute interval despite <ttl>180</ttl>."""
    url = feed_server.route("/ttl", body=rss(extra="<ttl>180</ttl>"), headers=XML, etag="v1")
    monitor = build(sqlite_url, [{"url": url}])
    monitor.fetch()
    first = monitor.storage.list_feeds()[0].next_fetch_at
    assert first is not None
    assert first >= clock.now + timedelta(minutes=180 * 0.9)
    clock.now = first
    assert monitor.fetch().not_modified == 1
    after_304 = monitor.storage.list_feeds()[0].next_fetch_at
    assert after_304 is not None
    assert after_304 >= clock.now + timedelta(minutes=180 * 0.9)


def test_feed_site_url_is_http_only(
    feed_server: FeedServer, build: Callable[..., Monitor], sqlite_url: str
) -> None:
    """Bug: the channel <link> (parse.py site_url=_clean(feed.get("link"))) and JSON Feed
    home_page_url are stored unvalidated, so javascript: reaches feeds list/status/OPML export
    (htmlUrl) — the design says links are http(s) only."""
    url = feed_server.route("/js", body=rss(site="javascript:alert(1)"), headers=XML)
    monitor = build(sqlite_url, [{"url": url}])
    monitor.fetch()
    feed = monitor.storage.list_feeds()[0]
    assert feed.status is FeedStatus.OK
    assert feed.site_url is None or feed.site_url.startswith(("http://", "https://"))
    assert "javascript:" not in monitor.export_opml()


def test_a_malformed_redirect_location_fails_the_feed_not_the_pass(
    feed_server: FeedServer, build: Callable[..., Monitor], sqlite_url: str
) -> None:
    """Bug: http.py:200 ``urljoin(current, location)`` raises ValueError ("Invalid IPv6 URL")
    for ``Location: http://[oops/feed``; it is not translated to FetchError, so ``download``
    in ingest.py lets it through and the pass aborts — on every pass while the server says so."""
    good = feed_server.route("/good", body=rss(), headers=XML)
    bad = feed_server.route("/moved", status=301, redirect_to="http://[oops/feed")
    monitor = build(sqlite_url, [{"url": good}, {"url": bad}])
    summary = monitor.fetch()  # raises ValueError today
    assert (summary.feeds, summary.failed) == (2, 1)


def test_guids_that_change_every_fetch_without_a_link_are_not_new_each_time(
    feed_server: FeedServer, build: Callable[..., Monitor], sqlite_url: str, clock: Clock
) -> None:
    """Bug: store.py ``_same_entry_new_guid`` only recognises a GUID-churning entry through its
    canonical link; an entry with no link (or an unusable one) under a GUID that changes on
    every fetch is stored as a new, non-backlog article on every fetch (digest spam)."""
    fetches = iter(range(1000))

    def body(_request: object) -> bytes:
        return rss(guid=f"random-{next(fetches)}", title="Same entry", link="")

    url = feed_server.route("/churn", body=body, headers=XML)
    monitor = build(sqlite_url, [{"url": url}])
    for _ in range(3):
        monitor.fetch(everything=True)
        clock.now += timedelta(hours=1)
    assert monitor.storage.count_articles() == 1

"""Review, second round: problems left or introduced by the robustness fixes (a40862f, deb541e)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from builders import Clock
from feedserver import FeedServer, Route
from newswatch.app import Monitor
from newswatch.fetching.parse import parse_document

XML = {"Content-Type": "application/rss+xml"}
ITEM = (
    "<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>"
    "<description>{text}</description></item>"
)


def rss(*items: tuple[str, str, str, str], extra: str = "") -> bytes:
    body = "".join(ITEM.format(guid=g, title=t, link=link, text=text) for g, t, link, text in items)
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<link>https://n.example/</link>{extra}{body}</channel></rss>"
    ).encode()


def test_capping_a_long_author_keeps_the_document_valid_utf8() -> None:
    """Regression from deb541e: parse.py ``_cap_author_fields`` cuts the raw bytes at 500,
    which can split a multi-byte character; the document is then no longer UTF-8 and
    feedparser silently re-decodes ALL of it in a fallback charset: every title of the feed
    turns to mojibake, and no problem is recorded. A Cyrillic by-line list over 500 bytes
    (about 250 letters) is enough."""
    author = "ab" + "Олена Петренко, " * 40
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Новини</title>'
        "<item><title>Переговори в Женеві</title><guid>1</guid>"
        f"<dc:creator>{author}</dc:creator></item></channel></rss>"
    ).encode()
    feed = parse_document(
        body, url="https://a.example/f", headers={"content-type": "application/rss+xml"}
    )
    assert feed.title == "Новини"
    assert feed.entries[0].title == "Переговори в Женеві"


def test_recurring_titles_with_different_links_are_different_entries(
    feed_server: FeedServer, build: Callable[..., Monitor], clock: Clock, tmp_path: Path
) -> None:
    """Bug (a40862f): store.py matches a new GUID to a stored row by fingerprint (title + text)
    without looking at the links, so a recurring post ("Open thread", same teaser, new link, new
    GUID) is taken for last week's entry once that one has left the feed: the new entry is
    silently dropped as "unchanged"."""
    url = feed_server.route(
        "/recurring",
        responses=[
            Route(body=rss(("w1", "Open thread", "https://n.example/w1", "Discuss.")), headers=XML),
            Route(body=rss(("w2", "Open thread", "https://n.example/w2", "Discuss.")), headers=XML),
        ],
    )
    monitor = build(f"sqlite:///{tmp_path / 'r.db'}", [{"url": url}])
    monitor.fetch()
    clock.now += timedelta(hours=1)
    monitor.fetch()
    assert monitor.storage.count_articles() == 2


def test_an_absurd_ttl_does_not_break_the_feed(
    feed_server: FeedServer, build: Callable[..., Monitor], database_url: str
) -> None:
    """Bug (a40862f): the raw <ttl> (minutes x 60, unbounded) is stored in feeds.ttl_seconds,
    an INTEGER; on PostgreSQL 99999999999999 minutes is "integer out of range", the per-feed
    boundary records an internal error, and the feed never stores an article again."""
    body = rss(("g1", "A", "https://n.example/1", "x"), extra="<ttl>99999999999999</ttl>")
    url = feed_server.route("/ttl", body=body, headers=XML)
    monitor = build(database_url, [{"url": url}])
    summary = monitor.fetch()
    assert (summary.failed, summary.new_articles) == (0, 1), summary.results[0].error


def test_a_long_non_ascii_link_does_not_break_the_feed(
    feed_server: FeedServer, build: Callable[..., Monitor], database_url: str
) -> None:
    """Bug (a40862f): MAX_URL_CHARS bounds the link in characters before canonical_url
    percent-encodes it; 1,900 CJK characters pass the check and become a ~17 kB canonical URL,
    beyond PostgreSQL's btree limit for ix_articles_canonical_url. The whole feed's transaction
    fails (reported as DatabaseUnavailableError), so its good entries are lost too, every time."""
    rng = random.Random(5)
    path = "".join(chr(rng.randrange(0x4E00, 0x9FFF)) for _ in range(1900))
    body = rss(
        ("", "Long link", f"https://a.example/{path}", "x"),
        ("ok", "Fine entry", "https://a.example/ok", "y"),
    )
    url = feed_server.route("/cjk", body=body, headers=XML)
    monitor = build(database_url, [{"url": url}])
    summary = monitor.fetch()
    assert summary.new_articles == 2, summary.results[0].error

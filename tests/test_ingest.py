"""Ingestion end to end: a real local HTTP server, real feed documents, a real database."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from builders import Clock
from feedserver import FeedServer, Route, make_gzip_bomb
from newswatch.app import Monitor
from newswatch.fetching.http import Fetcher, FetchError
from newswatch.model import FeedStatus

WriteConfig = Callable[..., Path]


@pytest.fixture
def open_monitor(build: Callable[..., Monitor], database_url: str) -> Callable[..., Monitor]:
    """Build a monitor over a config listing the given feeds, on each kind of database."""

    def on_this_database(feeds: list[dict[str, Any]], **fetch: Any) -> Monitor:
        return build(database_url, feeds, **fetch)

    return on_this_database


RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{title}</title><link>https://news.example/</link>
{items}
</channel></rss>"""
ITEM = """<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>
<description><![CDATA[{text}]]></description>
<pubDate>Wed, 25 Nov 2026 10:00:00 GMT</pubDate></item>"""


def rss(*items: tuple[str, str, str, str], title: str = "Example news") -> bytes:
    body = "\n".join(
        ITEM.format(guid=guid, title=headline, link=link, text=text)
        for guid, headline, link, text in items
    )
    return RSS.format(title=title, items=body).encode()


def manifest(folder: Path) -> list[dict[str, str]]:
    with (folder / "MANIFEST.tsv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_real_feed_corpus(
    feed_server: FeedServer, shared_feeds: Path, open_monitor: Callable[..., Monitor]
) -> None:
    rows = manifest(shared_feeds)
    urls = {
        row["file"]: feed_server.serve_file(f"/{row['file']}", shared_feeds / row["file"])
        for row in rows
    }
    monitor = open_monitor([{"url": url} for url in urls.values()])

    summary = monitor.fetch()
    assert summary.feeds == len(rows)
    feeds = {feed.url: feed for feed in monitor.storage.list_feeds()}
    for row in rows:
        feed = feeds[urls[row["file"]]]
        if row["format"].startswith("html"):
            assert feed.articles == 0
            assert feed.last_error is not None
            assert feed.last_error.startswith("not a feed but a web page")
            continue
        assert (row["file"], feed.articles) == (row["file"], int(row["items"]))
        assert feed.last_error is None, (row["file"], feed.last_error)
        assert feed.status is FeedStatus.OK
    assert summary.failed == sum(row["format"].startswith("html") for row in rows)

    # A second pass against the unchanged server: only conditional requests, nothing new.
    before = len(feed_server.requests)
    again = monitor.fetch(everything=True)
    second = feed_server.requests[before:]
    assert len(second) == len(rows)
    pages = {f"/{row['file']}" for row in rows if row["format"].startswith("html")}
    feeds_only = [r for r in second if r.path not in pages]
    assert all(r.header("if-none-match") for r in feeds_only)
    assert all(r.header("if-modified-since") for r in feeds_only)
    assert again.new_articles == 0
    assert again.not_modified == len(rows) - again.failed
    assert monitor.storage.count_articles() == sum(
        int(row["items"]) for row in rows if not row["format"].startswith("html")
    )


def test_articles_are_clean_and_first_fetch_is_backlog(
    feed_server: FeedServer, open_monitor: Callable[..., Monitor], clock: Clock
) -> None:
    url = feed_server.route(
        "/feed.xml",
        responses=[
            Route(
                body=rss(
                    (
                        "g1",
                        "Talks &amp; <b>progress</b>",
                        "/a1?utm_source=x#top",
                        "<p>Envoys met.</p><script>alert(1)</script>",
                    )
                )
            ),
            Route(
                body=rss(
                    ("g2", "New round in Geneva", "https://news.example/a2", "<p>Second.</p>"),
                    (
                        "g1",
                        "Talks &amp; <b>progress</b>",
                        "/a1?utm_source=x#top",
                        "<p>Envoys met.</p><script>alert(1)</script>",
                    ),
                )
            ),
        ],
    )
    monitor = open_monitor([{"url": url}])
    first = monitor.fetch()
    assert first.new_articles == 1
    (article_id,) = [i for i in range(1, 10) if monitor.storage.get_article(i)][:1]
    article = monitor.storage.get_article(article_id)
    assert article is not None
    assert article.title == "Talks & progress"
    assert article.url == f"{feed_server.url}/a1?utm_source=x#top"
    assert article.canonical_url == f"{feed_server.url}/a1"
    assert "alert" not in article.content_text
    assert "<script" not in article.content_html
    assert article.published_at == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert article.backlog  # present when the feed was first seen

    clock.advance(hours=1)
    second = monitor.fetch()
    assert (second.new_articles, second.updated_articles) == (1, 0)
    newest = max(
        (a for a in (monitor.storage.get_article(i) for i in range(1, 10)) if a),
        key=lambda a: a.id or 0,
    )
    assert newest.title == "New round in Geneva"
    assert not newest.backlog


def test_backfill_feeds_are_not_backlog(
    feed_server: FeedServer, open_monitor: Callable[..., Monitor]
) -> None:
    url = feed_server.route("/f", body=rss(("g1", "One", "https://n.example/1", "x")))
    monitor = open_monitor([{"url": url, "backfill": True}])
    monitor.fetch()
    article = monitor.storage.get_article(1)
    assert article is not None
    assert not article.backlog


def test_one_bad_feed_never_stops_the_others(
    feed_server: FeedServer, open_monitor: Callable[..., Monitor], unused_port: int
) -> None:
    good = feed_server.route("/good", body=rss(("g", "Fine", "https://n.example/1", "ok")))
    bad = {
        feed_server.route("/500", status=500): "HTTP 500 Internal Server Error",
        feed_server.route("/404", status=404): "HTTP 404 Not Found",
        feed_server.route("/big", body=b"<rss>" + b"x" * 300_000): "larger than the 200,000-byte",
        feed_server.route(
            "/bomb", raw_encoded_body=make_gzip_bomb(50_000_000), gzip=True
        ): "larger than the 200,000-byte",
        feed_server.route("/loop", status=302, redirect_to="/loop2"): "redirect loop",
        feed_server.route("/drip", body=b"<rss>" + b" " * 100, drip=0.2): "timed out",
        feed_server.route("/empty", body=b""): "empty document",
        feed_server.route("/garbage", body=b"\x00\x01 not xml at all {"): "not a feed",
        f"http://127.0.0.1:{unused_port}/feed": "connection refused",
    }
    feed_server.route("/loop2", status=301, redirect_to="/loop")
    monitor = open_monitor(
        [{"url": good}] + [{"url": url} for url in bad], max_bytes="200KB", timeout="2s"
    )
    summary = monitor.fetch()
    assert summary.new_articles == 1
    assert summary.failed == len(bad)
    feeds = {feed.url: feed for feed in monitor.storage.list_feeds()}
    assert feeds[good].status is FeedStatus.OK
    for url, expected in bad.items():
        assert feeds[url].last_error is not None, url
        assert expected in feeds[url].last_error, (url, feeds[url].last_error)
        assert feeds[url].articles == 0


def test_permanent_redirect_moves_the_feed(
    feed_server: FeedServer, open_monitor: Callable[..., Monitor], clock: Clock
) -> None:
    old = feed_server.route("/old", status=301, redirect_to="/new")
    new = feed_server.route("/new", body=rss(("g", "A", "https://n.example/1", "x")))
    monitor = open_monitor([{"url": old}])
    monitor.fetch()
    assert monitor.storage.list_feeds()[0].url == old  # seen once: not yet adopted
    clock.advance(hours=1)
    monitor.fetch()
    feed = monitor.storage.list_feeds()[0]
    assert (feed.url, feed.declared_url) == (new, old)
    clock.advance(hours=1)
    before = len(feed_server.requests)
    monitor.fetch()
    assert [r.path for r in feed_server.requests[before:]] == ["/new"]


def test_gone_disables_and_retry_after_is_honoured(
    feed_server: FeedServer, open_monitor: Callable[..., Monitor], clock: Clock
) -> None:
    gone = feed_server.route("/gone", status=410)
    busy = feed_server.route("/busy", status=429, headers={"Retry-After": "7200"})
    monitor = open_monitor([{"url": gone}, {"url": busy}])
    monitor.fetch()
    feeds = {feed.url: feed for feed in monitor.storage.list_feeds()}
    assert feeds[gone].status is FeedStatus.DISABLED
    assert feeds[gone].last_error == "HTTP 410 Gone"
    next_busy = feeds[busy].next_fetch_at
    assert next_busy is not None
    assert next_busy >= clock.now + timedelta(hours=2)
    # Neither is due an hour later: the disabled one never, the busy one not yet.
    clock.advance(hours=1)
    assert monitor.fetch().feeds == 0


def test_syndicated_copies_share_a_story(
    feed_server: FeedServer, open_monitor: Callable[..., Monitor]
) -> None:
    text = (
        "Ukrainian and US negotiators met in Geneva on Sunday to revise the peace plan, "
        "narrowing the 28-point draft to 19 points after long talks about security guarantees, "
        "territory in the Donbas and the future of frozen Russian assets held by Euroclear. "
        "Officials said the talks were productive and would continue next week in Florida."
    )
    edited = text.replace("on Sunday", "on Sunday evening").replace("productive", "constructive")
    one = feed_server.route(
        "/one",
        body=rss(
            (
                "a1",
                "Geneva talks narrow US peace plan",
                "https://wire.example/geneva?utm_source=rss",
                text,
            ),
            (
                "a2",
                "Storm hits the coast",
                "https://wire.example/storm",
                "Heavy rain and wind closed roads along the coast on Monday, officials said.",
            ),
        ),
    )
    two = feed_server.route(
        "/two",
        body=rss(
            (
                "b1",
                "UPDATE 1-Geneva talks narrow US peace plan",
                "https://paper.example/p/1",
                edited,
            ),
            ("b2", "Same link, other outlet", "https://wire.example/geneva", "Short teaser."),
        ),
    )
    monitor = open_monitor([{"url": one}, {"url": two}])
    monitor.fetch()
    articles = [a for a in (monitor.storage.get_article(i) for i in range(1, 5)) if a]
    story = {a.title: a.story_id for a in articles}
    assert None not in story.values()
    geneva = story["Geneva talks narrow US peace plan"]
    assert story["UPDATE 1-Geneva talks narrow US peace plan"] == geneva
    assert story["Same link, other outlet"] == geneva
    assert story["Storm hits the coast"] != geneva


def test_fetch_command_json(
    feed_server: FeedServer, write_config: WriteConfig, run_cli: Callable[..., Result]
) -> None:
    url = feed_server.route("/f", body=rss(("g", "A", "https://n.example/1", "x")))
    broken = feed_server.route("/broken", status=503)
    path = write_config({"feeds": [{"url": url}, {"url": broken}], "fetch": {"timeout": "3s"}})
    result = run_cli("--config", str(path), "fetch", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert {
        k: summary[k] for k in ("feeds", "fetched", "not_modified", "failed", "new_articles")
    } == {
        "feeds": 2,
        "fetched": 1,
        "not_modified": 0,
        "failed": 1,
        "new_articles": 1,
    }
    listed = json.loads(run_cli("--config", str(path), "feeds", "list", "--json").output)
    assert {f["url"]: f["status"] for f in listed} == {url: "ok", broken: "new"}
    assert [f["last_error"] for f in listed if f["url"] == broken] == [
        "HTTP 503 Service Unavailable"
    ]
    text = run_cli("--config", str(path), "fetch", "--all")
    assert "2 feeds: 0 fetched, 1 not modified, 1 failed" in text.output
    assert run_cli("--config", str(path), "fetch", "--feed", "https://nope.example/").exit_code == 2


def test_feeds_check_and_export(
    feed_server: FeedServer,
    shared_feeds: Path,
    write_config: WriteConfig,
    run_cli: Callable[..., Result],
) -> None:
    url = feed_server.serve_file("/guardian.rss", shared_feeds / "rssparser__guardian.rss")
    page = feed_server.serve_file(
        "/page.html", shared_feeds / "feedjira__scRUBYt.xml", content_type="text/html"
    )
    result = run_cli("feeds", "check", url, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["kind"], report["format"], report["entries"]) == ("feed", "rss20", 55)
    assert len(report["samples"]) == 5
    result = run_cli("feeds", "check", page)
    assert result.exit_code == 1
    assert "not a feed but a web page" in result.output

    path = write_config({"feeds": [{"url": url, "name": "Guardian"}]})
    exported = run_cli("--config", str(path), "feeds", "export").output
    assert f'xmlUrl="{url}"' in exported
    assert 'title="Guardian"' in exported


def test_verbose_fetch_logs_events(
    feed_server: FeedServer, write_config: WriteConfig, run_cli: Callable[..., Result]
) -> None:
    broken = feed_server.route("/broken", status=500)
    path = write_config({"feeds": [{"url": broken}], "logging": {"format": "json"}})
    quiet = run_cli("--config", str(path), "fetch")
    assert quiet.stderr == f"! {broken}: HTTP 500 Internal Server Error\n"
    loud = run_cli("--config", str(path), "-v", "fetch", "--all")
    events = [json.loads(line) for line in loud.stderr.splitlines() if line.startswith("{")]
    assert any(e["level"] == "warning" and f"url={broken}" in e["message"] for e in events), (
        loud.stderr
    )


ARTICLE_PAGE = (
    "<html><head><title>Page</title></head><body><nav>Home | World | Sport</nav>"
    "<article><h1>Envoys meet</h1>"
    + "<p>Negotiators met in Geneva for a second day to revise the peace plan. " * 6
    + "</p><p>The talks covered security guarantees and the future of the Donbas. " * 4
    + "</p></article><footer>Copyright</footer><script>track()</script></body></html>"
)


def test_full_text_replaces_the_feed_summary(
    feed_server: FeedServer, open_monitor: Callable[..., Monitor]
) -> None:
    page = feed_server.route(
        "/story", body=ARTICLE_PAGE.encode(), headers={"Content-Type": "text/html"}
    )
    feed = feed_server.route("/f", body=rss(("g1", "Envoys meet", page, "Short teaser.")))
    plain = feed_server.route("/p", body=rss(("g2", "Other", page, "Short teaser.")))
    monitor = open_monitor([{"url": feed, "full_text": True}, {"url": plain}])
    monitor.fetch()
    articles = {a.title: a for a in (monitor.storage.get_article(i) for i in (1, 2)) if a}
    full = articles["Envoys meet"]
    assert "security guarantees and the future of the Donbas" in full.content_text
    assert "Home | World" not in full.content_text
    assert "track()" not in full.content_text
    assert "<script" not in full.content_html
    assert articles["Other"].content_text == "Short teaser."
    # The page was fetched once, for the full-text feed only.
    assert len(feed_server.requests_to("/story")) == 1


def test_article_links_to_private_addresses_are_refused(feed_server: FeedServer) -> None:
    url = feed_server.route("/x", body=b"hello")

    async def fetch_both() -> bytes:
        async with Fetcher(timeout=3) as fetcher:
            with pytest.raises(FetchError, match=r"non-public address 127\.0\.0\.1"):
                await fetcher.fetch(url, allow_private=False)
            return (await fetcher.fetch(url)).body

    assert asyncio.run(fetch_both()) == b"hello"
    assert len(feed_server.requests_to("/x")) == 1  # the refused one never left


def test_every_article_gets_a_story_even_past_one_batch(
    feed_server: FeedServer, open_monitor: Callable[..., Monitor], monkeypatch: pytest.MonkeyPatch
) -> None:
    import newswatch.ingest

    monkeypatch.setattr(newswatch.ingest, "CLUSTER_BATCH", 2)
    items = [
        (f"g{i}", f"Story number {i} about topic {i}", f"https://n.example/{i}", f"Text {i}.")
        for i in range(5)
    ]
    url = feed_server.route("/f", body=rss(*items))
    monitor = open_monitor([{"url": url}])
    monitor.fetch()
    assert monitor.storage.unclustered() == []

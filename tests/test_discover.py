"""Feed discovery in HTML pages: data-driven cases in tests/data/html, then the real documents.

Each case is a page (``NAME.html`` or ``NAME.xhtml``) beside ``NAME.expected.json``:
``{"page_url", "content_type", "looks_like_html", "feeds": [{"url", "title", "type"}]}``.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import pytest

from newswatch.fetching.discover import (
    MAX_PAGE_BYTES,
    DiscoveredFeed,
    common_feed_paths,
    discover_feeds,
    looks_like_html,
)
from newswatch.fetching.jsonfeed import looks_like_json_feed

DATA = Path(__file__).resolve().parent / "data" / "html"
REAL_FEEDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "feeds"
MISSING = f"{REAL_FEEDS} (…shared/data/feeds) not found: real-feed tests need ../shared"

PAGES = sorted(path.name for path in DATA.iterdir() if not path.name.endswith(".expected.json"))
HTML_PAGE = "feedjira__scRUBYt.xml"
# Every file but the HTML page; one placeholder when the folder is missing, so the skip shows.
REAL_FILES = (
    sorted(p.name for p in REAL_FEEDS.iterdir() if p.name != HTML_PAGE)
    if REAL_FEEDS.is_dir()
    else ["-"]
)
JSON_FEEDS = {"rsparser__inessential.json", "rsparser__pxlnv.json"}


def _expectation(page: str) -> Path:
    return DATA / (page.rsplit(".", 1)[0] + ".expected.json")


def test_every_page_has_an_expectation() -> None:
    assert PAGES, f"no pages in {DATA}"
    for page in PAGES:
        assert _expectation(page).is_file(), page


@pytest.mark.parametrize("page", PAGES)
def test_page(page: str) -> None:
    body = (DATA / page).read_bytes()
    spec = json.loads(_expectation(page).read_text(encoding="utf-8"))
    assert looks_like_html(body, spec["content_type"]) is spec["looks_like_html"]
    found = discover_feeds(body, spec["page_url"])
    assert [dataclasses.asdict(feed) for feed in found] == spec["feeds"]


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"<!DOCTYPE html><html></html>", None, True),
        (b"\xef\xbb\xbf \r\n<!-- a -->\n<!-- b --><!doctype   HTML>", "text/plain", True),
        (b"<HTML lang=en><p>hi", None, True),
        (b'<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml">', None, True),
        (b"<body>fragment</body>", None, True),
        (b"<div>some page</div>", "text/html; charset=utf-8", True),
        (b"<div>some page</div>", "APPLICATION/XHTML+XML", True),
        (b"<div>some page</div>", None, False),
        (b"plain words", "text/html", True),
        (b"plain words", None, False),
        (b"", None, False),
        # The body outranks the header: feeds served as text/html are feeds.
        (b'<rss version="2.0"><channel/></rss>', "text/html", False),
        (b"\n\n  <?xml version='1.0'?><?xml-stylesheet href='s.xsl'?><rss>", "text/html", False),
        (b"<feed xmlns='http://www.w3.org/2005/Atom'>", "text/html", False),
        (b"<atom:feed xmlns:atom='http://www.w3.org/2005/Atom'>", "text/html", False),
        (b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="x">', "text/html", False),
        (b'<!DOCTYPE rss PUBLIC "-//Netscape//DTD RSS 0.91//EN" "x.dtd"><rss>', "text/html", False),
        (b'<!DOCTYPE rss [<!ENTITY n "&#160;">]><rss>', "text/html", False),
        (b"<!-- a comment first --><feed>", "text/html", False),
        (b"<opml version='2.0'>", "text/html", False),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "text/html", False),
        # A comment that does not end where the sniffer looks: the header decides.
        (b"<!--" + b"-" * 10_000 + b"--><rss>", "text/html", True),
        (b"<!--" + b"-" * 10_000 + b"--><rss>", None, False),
    ],
)
def test_looks_like_html(body: bytes, content_type: str | None, expected: bool) -> None:
    assert looks_like_html(body, content_type) is expected


def test_only_the_first_megabyte_is_read() -> None:
    head = b'<html><head><link rel="alternate" type="application/rss+xml" href="/early.rss">'
    filler = (b"<p>" + b"x" * 1000 + b"</p>\n") * (MAX_PAGE_BYTES // 1000 + 100)
    tail = b'<link rel="alternate" type="application/rss+xml" href="/late.rss"></html>'
    found = discover_feeds(head + filler + tail, "https://big.example.org/")
    assert [feed.url for feed in found] == ["https://big.example.org/early.rss"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"https://example.org/feed.xml",  # Beautiful Soup warns about text like this; we must not
        b"index.html",
        b"\x00\xff\xfe garbage \x00",
        b"<",
        b"<html><a href='/feed'",
        b'<?xml version="1.0" encoding="no-such-codec"?><rss><channel><link>x</link></channel>',
        b'<?xml version="1.0"?><?xml-stylesheet href="a.xsl"?><feed><link href="/x"/></feed>',
        b"\xef\xbb\xbf<?xml version='1.0'?>\n<rss/>",
        "<html><a href='/feed'>Пошук</a></html>".encode("utf-16"),
    ],
)
def test_odd_documents_give_nothing_and_do_not_warn(body: bytes) -> None:
    # pytest turns warnings into errors, so a Beautiful Soup warning fails the test.
    found = discover_feeds(body, "https://odd.example.org/")
    assert all(feed.url.startswith("https://odd.example.org/") for feed in found)


def test_an_impossible_declared_encoding_is_ignored() -> None:
    body = b'<?xml version="1.0" encoding="UTF-16"?><html><a href="/feed">Feed</a></html>'
    found = discover_feeds(body, "https://odd.example.org/")
    assert found == [DiscoveredFeed(url="https://odd.example.org/feed", title="Feed", type=None)]


def test_discovered_feed_is_frozen() -> None:
    feed = DiscoveredFeed(url="https://example.org/feed", title=None, type=None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        feed.url = "https://example.org/other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("page_url", "origin"),
    [
        ("https://example.org/2024/03/a-post/?utm_source=x#top", "https://example.org"),
        ("HTTP://Example.ORG", "http://example.org"),
        ("http://user:secret@example.org:8080/blog/", "http://example.org:8080"),
        ("https://[2001:db8::1]:8443/x", "https://[2001:db8::1]:8443"),
    ],
)
def test_common_feed_paths(page_url: str, origin: str) -> None:
    paths = ["/feed", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml", "/feed.json"]
    assert common_feed_paths(page_url) == [origin + path for path in paths]


@pytest.mark.parametrize(
    "page_url", ["", "/relative/page", "ftp://example.org/", "https://", "http://example.org:x/"]
)
def test_common_feed_paths_needs_an_http_origin(page_url: str) -> None:
    assert common_feed_paths(page_url) == []


# Real documents from ../shared/data/feeds


@pytest.fixture(scope="module")
def formats() -> dict[str, str]:
    """The MANIFEST's format column, by file name."""
    if not REAL_FEEDS.is_dir():
        pytest.skip(reason=MISSING)
    with (REAL_FEEDS / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        return {row["file"]: row["format"] for row in csv.DictReader(handle, delimiter="\t")}


def test_real_html_page_where_a_feed_was_expected(formats: dict[str, str]) -> None:
    assert formats[HTML_PAGE].startswith("html")
    body = (REAL_FEEDS / HTML_PAGE).read_bytes()
    # Blank lines, then an XHTML doctype: a page whatever the server calls it.
    assert looks_like_html(body, None)
    assert looks_like_html(body, "application/rss+xml")
    assert not looks_like_json_feed(body, None)
    # A parked-domain page: no <link> at all, and its <a> links go to the registrar's shop.
    assert discover_feeds(body, "http://scrubyt.org/feed/") == []
    assert common_feed_paths("http://scrubyt.org/feed/")[0] == "http://scrubyt.org/feed"


@pytest.mark.parametrize("name", REAL_FILES)
def test_real_documents_are_not_pages(name: str, formats: dict[str, str]) -> None:
    body = (REAL_FEEDS / name).read_bytes()
    assert not looks_like_html(body, None)
    assert looks_like_json_feed(body, None) is (name in JSON_FEEDS)
    if name in formats:
        # Every real feed's start is recognised, so even a text/html label cannot fool us.
        assert not looks_like_html(body, "text/html")
        # Discovery over a feed finds nothing, and never warns or fails.
        assert discover_feeds(body, "https://example.org/") == []

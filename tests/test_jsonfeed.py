"""JSON Feed parsing: data-driven cases in tests/data/jsonfeed, then the real feeds in ../shared.

Each case is ``NAME.json`` beside ``NAME.expected.json``. The expectation holds either
``{"error": "part of the message"}`` or the feed: ``{"url"?, "feed": {...}, "entries": [...]}``
where entries list only the fields that differ from ``ParsedEntry()``'s defaults and datetimes
are ISO 8601 strings.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from newswatch.errors import NewswatchError
from newswatch.fetching.errors import FeedParseError
from newswatch.fetching.jsonfeed import looks_like_json_feed, parse_json_feed, parse_rfc3339
from newswatch.fetching.parsed import ParsedEntry, ParsedFeed

DATA = Path(__file__).resolve().parent / "data" / "jsonfeed"
REAL_FEEDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "feeds"
DEFAULT_URL = "https://example.org/feeds/feed.json"
DATE_FIELDS = ("published", "updated")

CASES = sorted(path.name.removesuffix(".json") for path in DATA.glob("*.json"))
CASES = [name for name in CASES if not name.endswith(".expected")]


def _expected_feed(spec: dict[str, Any]) -> ParsedFeed:
    entries = []
    for fields in spec.get("entries", []):
        values: dict[str, Any] = {
            key: datetime.fromisoformat(value) if key in DATE_FIELDS else value
            for key, value in fields.items()
        }
        entries.append(ParsedEntry(**values))
    feed = dict(spec["feed"])
    feed["problems"] = tuple(feed.get("problems", ()))
    return ParsedFeed(**feed, entries=tuple(entries))


def test_every_case_has_an_expectation() -> None:
    assert CASES, f"no cases in {DATA}"
    for name in CASES:
        assert (DATA / f"{name}.expected.json").is_file(), name


@pytest.mark.parametrize("name", CASES)
def test_case(name: str) -> None:
    body = (DATA / f"{name}.json").read_bytes()
    spec = json.loads((DATA / f"{name}.expected.json").read_text(encoding="utf-8"))
    url = spec.get("url", DEFAULT_URL)
    if "error" in spec:
        with pytest.raises(FeedParseError) as caught:
            parse_json_feed(body, url)
        message = str(caught.value)
        assert spec["error"] in message
        assert "\n" not in message
        return
    parsed = parse_json_feed(body, url)
    assert parsed == _expected_feed(spec)
    for entry in parsed.entries:
        for key in DATE_FIELDS:
            moment = getattr(entry, key)
            assert moment is None or moment.tzinfo is UTC


def test_parse_error_is_a_value_error_and_a_newswatch_error() -> None:
    with pytest.raises(ValueError, match="not a JSON Feed") as caught:
        parse_json_feed(b"<rss/>", DEFAULT_URL)
    assert isinstance(caught.value, NewswatchError)
    assert isinstance(caught.value.__cause__, json.JSONDecodeError)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 100_000, "nested too deeply"),
        (b'{"version": 1' + b"0" * 5000 + b"}", "unreadable JSON"),
        ('{"version": "https://jsonfeed.org/version/1", "items": []}'.encode("utf-16"), None),
    ],
    ids=["deep-nesting", "huge-number", "utf-16"],
)
def test_hostile_or_odd_bodies(body: bytes, message: str | None) -> None:
    if message is None:
        parsed = parse_json_feed(body, DEFAULT_URL)
        assert parsed.format == "json1"
        assert parsed.problems == ("document is UTF-16, not UTF-8 as JSON Feed requires",)
        return
    with pytest.raises(FeedParseError, match=message):
        parse_json_feed(body, DEFAULT_URL)


@pytest.mark.parametrize(
    ("text", "expected", "assumed_utc"),
    [
        ("2024-03-01T10:15:30Z", "2024-03-01T10:15:30+00:00", False),
        ("2024-03-01T10:15:30.5+01:00", "2024-03-01T09:15:30.500000+00:00", False),
        ("2024-03-01T10:15:30.1234567891-0530", "2024-03-01T15:45:30.123456+00:00", False),
        ("2024-03-01T10:15+02", "2024-03-01T08:15:00+00:00", False),
        ("2024-03-01 10:15:30 UTC", "2024-03-01T10:15:30+00:00", False),
        (" 2024-03-01t10:15:30z ", "2024-03-01T10:15:30+00:00", False),
        ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59+00:00", False),
        ("2024-03-01T10:15:30", "2024-03-01T10:15:30+00:00", True),
        ("2024-03-01", "2024-03-01T00:00:00+00:00", True),
        ("2024-02-30T00:00:00Z", None, False),
        ("2024-03-01T25:00:00Z", None, False),
        ("2024-03-01T10:00:00+24:00", None, False),
        ("Fri, 01 Mar 2024 10:15:30 GMT", None, False),
        ("", None, False),
    ],
)
def test_parse_rfc3339(text: str, expected: str | None, assumed_utc: bool) -> None:
    parsed, assumed = parse_rfc3339(text)
    if expected is None:
        assert parsed is None
    else:
        assert parsed == datetime.fromisoformat(expected)
        assert parsed is not None
        assert parsed.tzinfo is UTC
    assert assumed is assumed_utc


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"{}", "application/feed+json", True),
        (b"{}", "Application/JSON; charset=utf-8", True),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', None, True),
        (b'\xef\xbb\xbf\n  {"version":"https:\\/\\/jsonfeed.org\\/version\\/1"}', None, True),
        (b'{"version": "https://jsonfeed.org/version/1"}', "text/plain", True),
        (b'{"title": "x", "version": "2"}', None, False),
        (b'{"items": []}', "text/html", False),
        (b'<?xml version="1.0"?><rss/>', "application/json", False),
        (b"  <feed xmlns='http://www.w3.org/2005/Atom'/>", "application/feed+json", False),
        (b"", None, False),
    ],
)
def test_looks_like_json_feed(body: bytes, content_type: str | None, expected: bool) -> None:
    assert looks_like_json_feed(body, content_type) is expected


def test_sniffing_reads_only_the_start() -> None:
    late = b'{"title": "' + b"x" * 10_000 + b'", "version": "https://jsonfeed.org/version/1"}'
    assert not looks_like_json_feed(late, None)
    assert looks_like_json_feed(late, "application/feed+json")


# Real documents from ../shared/data/feeds


@pytest.fixture(scope="module")
def manifest() -> dict[str, dict[str, str]]:
    if not REAL_FEEDS.is_dir():
        why = f"{REAL_FEEDS} (…shared/data/feeds) not found: real-feed tests need ../shared"
        pytest.skip(reason=why)
    with (REAL_FEEDS / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        return {row["file"]: row for row in csv.DictReader(handle, delimiter="\t")}


def test_real_inessential(manifest: dict[str, dict[str, str]]) -> None:
    name = "rsparser__inessential.json"
    body = (REAL_FEEDS / name).read_bytes()
    assert looks_like_json_feed(body, None)
    parsed = parse_json_feed(body, "http://inessential.com/feed.json")
    assert parsed.format == "json1"
    assert parsed.problems == ()
    assert parsed.title == "inessential.com"
    assert parsed.site_url == manifest[name]["site_link"] == "http://inessential.com/"
    assert len(parsed.entries) == int(manifest[name]["items"]) == 20
    first = parsed.entries[0]
    link = "http://inessential.com/2017/06/02/james_dempsey_and_the_breakpoints_benefi"
    assert first.guid == first.link == link
    assert first.title == "James Dempsey and the Breakpoints Benefit App Camp for Girls"
    assert first.content_html.startswith("<p>On Wednesday night")
    assert first.summary_html == first.content_text == ""
    # No item names an author: JSON Feed says the feed's author is every item's author.
    assert {entry.author for entry in parsed.entries} == {"Brent Simmons"}
    assert first.published == datetime(2017, 6, 3, 5, 5, 47, tzinfo=UTC)  # 22:05:47-07:00
    assert first.updated is None
    assert all(entry.published is not None for entry in parsed.entries)
    assert len({entry.guid for entry in parsed.entries}) == 20


def test_real_pxlnv(manifest: dict[str, dict[str, str]]) -> None:
    name = "rsparser__pxlnv.json"
    body = (REAL_FEEDS / name).read_bytes()
    assert looks_like_json_feed(body, None)
    parsed = parse_json_feed(body, "https://pxlnv.com/feed/json/")
    assert parsed.format == "json1"  # its version URL is http://, not https://
    assert parsed.problems == ()
    assert parsed.title == "Pixel Envy"
    assert parsed.site_url == manifest[name]["site_link"] == "https://pxlnv.com"
    assert len(parsed.entries) == int(manifest[name]["items"]) == 20
    first = parsed.entries[0]
    # The item's own page is the link; external_url (the story it links to) is only a fallback.
    assert first.link == first.guid == "https://pxlnv.com/linklog/uber-losses-2017/"
    assert first.title == "Uber Lost $4.5 Billion in 2017"
    assert first.author == "Nick Heer"
    assert first.published == datetime(2018, 2, 13, 23, 23, 12, tzinfo=UTC)
    assert first.updated == datetime(2018, 2, 13, 23, 51, 35, tzinfo=UTC)
    assert first.content_html.startswith("<p>Eric Newcomer, <em>Bloomberg</em>:</p>")
    # Titles carry HTML entities as the site wrote them; normalisation decodes them later.
    assert any("&#8216;" in entry.title for entry in parsed.entries)

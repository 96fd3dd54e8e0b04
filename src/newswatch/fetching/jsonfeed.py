"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org) read into a ``ParsedFeed``, with the stdlib only.

The reader is strict about the shape that makes a document a feed at all (a JSON object with a
known ``version`` and a list of ``items``) and lenient about everything inside: a field of the
wrong type, an item that is not an object or a date that does not parse is dropped and recorded
in ``ParsedFeed.problems``, and the rest of the feed is kept.

Values are taken as the document states them (titles are not unescaped, HTML is not cleaned);
only links are made absolute and dates converted to UTC, as ``parsed`` promises.
"""

from __future__ import annotations

import codecs
import html
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urljoin

from newswatch.fetching.errors import FeedParseError
from newswatch.fetching.parsed import ParsedEntry, ParsedFeed

__all__ = ["looks_like_json_feed", "parse_json_feed", "parse_rfc3339"]

#: Media types that announce JSON; a JSON Feed is served with either.
_JSON_MEDIA_TYPES = frozenset({"application/feed+json", "application/json"})

#: How much of the body the sniffer looks at: ``version`` comes first in practice.
_SNIFF_BYTES = 4096

# The version string may have its slashes escaped (``https:\/\/jsonfeed.org``, as PHP writes).
_SNIFF_VERSION = re.compile(rb'"version"\s*:\s*"[^"]{0,64}?jsonfeed\.org', re.IGNORECASE)

_VERSIONS = re.compile(r"https?://jsonfeed\.org/version/(1|1\.0|1\.1)/?", re.IGNORECASE)

# RFC 3339, read generously: "t" or a space for "T", seconds optional, any number of fractional
# digits, "z" for "Z", an offset with or without its colon or minutes, or none at all.
_DATE = re.compile(
    r"""
    (?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})
    (?:
        [Tt\ ]+(?P<hour>\d{1,2}):(?P<minute>\d{2})
        (?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?
    )?
    \s*(?P<zone>[Zz]|(?:GMT|UTC)|[+-]\d{2}(?::?\d{2})?)?
    """,
    re.VERBOSE,
)

_WHITESPACE = b" \t\r\n"


def looks_like_json_feed(body: bytes, content_type: str | None) -> bool:
    """Tell cheaply whether a downloaded document should be read as a JSON Feed.

    The body wins over the header when it is plainly markup: an RSS document served as
    ``application/json`` is still XML.

    Args:
        body: the document as downloaded.
        content_type: the ``Content-Type`` header, if any (parameters allowed).

    Returns:
        True if the media type is ``application/feed+json`` or ``application/json``, or if the
        body is a JSON object whose ``version`` names jsonfeed.org near its start.
    """
    head = _skip_bom_and_space(body[:_SNIFF_BYTES])
    if head.startswith(b"<"):
        return False
    if _media_type(content_type) in _JSON_MEDIA_TYPES:
        return True
    return head.startswith(b"{") and _SNIFF_VERSION.search(head) is not None


def parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    """Read a JSON Feed document.

    Args:
        body: the document as downloaded; UTF-8, with or without a byte order mark.
        url: where the document came from (after redirects): the base for relative links.

    Returns:
        The feed, format ``"json1"`` or ``"json11"``. Recoverable defects (invalid UTF-8, items
        that are not objects, fields of the wrong type, unreadable dates) are described in
        ``problems``; the affected values are left out.

    Raises:
        FeedParseError: the body is not JSON, its top level is not an object, ``version`` is
            missing or not a JSON Feed version, or ``items`` is not a list.
    """
    problems: list[str] = []
    document = _load(body, problems)
    if not isinstance(document, dict):
        raise FeedParseError(f"not a JSON Feed: the top level is {_kind(document)}, not an object")
    feed_format = _format(document.get("version"))
    items = document.get("items")
    if not isinstance(items, list):
        found = f"{_kind(items)}, not an array" if "items" in document else "missing"
        raise FeedParseError(f"not a JSON Feed: 'items' is {found}")

    fields = _Fields(problems)
    title = fields.text(document, "title", "feed")
    site_url = _resolve(url, fields.text(document, "home_page_url", "feed"), "feed", problems)
    language = fields.text(document, "language", "feed")
    feed_author = _author(document, "feed", fields)
    entries: list[ParsedEntry] = []
    for index, item in enumerate(items):
        where = f"items[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected an object, found {_kind(item)}; skipped")
            continue
        entries.append(
            _entry(
                item,
                where,
                feed_url=url,
                feed_language=language,
                feed_author=feed_author,
                fields=fields,
            )
        )
    return ParsedFeed(
        format=feed_format,
        title=title,
        site_url=site_url,
        language=language,
        entries=tuple(entries),
        problems=tuple(problems),
    )


def _load(body: bytes, problems: list[str]) -> Any:
    """Decode and parse the body; the decoding problems go into ``problems``."""
    text = _decode(body, problems)
    if not text.strip():
        raise FeedParseError("not a JSON Feed: the document is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeedParseError(
            f"not a JSON Feed: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    except RecursionError as exc:
        raise FeedParseError("not a JSON Feed: the JSON is nested too deeply to read") from exc
    except ValueError as exc:  # e.g. an integer longer than Python agrees to convert
        raise FeedParseError(f"not a JSON Feed: unreadable JSON: {exc}") from exc


def _decode(body: bytes, problems: list[str]) -> str:
    # UTF-32 first: its little-endian mark begins with UTF-16's.
    for mark, codec in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if body.startswith(mark):
            problems.append(f"document is {codec.upper()}, not UTF-8 as JSON Feed requires")
            return body.decode(codec, errors="replace")
    if body.startswith(codecs.BOM_UTF8):
        body = body[len(codecs.BOM_UTF8) :]
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(
            f"invalid UTF-8 from byte {exc.start}: undecodable bytes replaced with U+FFFD"
        )
        return body.decode("utf-8", errors="replace")


def _format(version: object) -> str:
    if version is None:
        raise FeedParseError("not a JSON Feed: no 'version' (expected a jsonfeed.org URL)")
    if not isinstance(version, str):
        raise FeedParseError(
            f"not a JSON Feed: 'version' is {_kind(version)} {_show(version)}, "
            "not a jsonfeed.org URL"
        )
    match = _VERSIONS.fullmatch(version.strip())
    if match is None:
        raise FeedParseError(
            f"not a JSON Feed: unknown version {_show(version)} "
            "(known: https://jsonfeed.org/version/1 and /version/1.1)"
        )
    return "json11" if match.group(1) == "1.1" else "json1"


def _entry(
    item: Mapping[str, Any],
    where: str,
    *,
    feed_url: str,
    feed_language: str | None,
    feed_author: str | None,
    fields: _Fields,
) -> ParsedEntry:
    problems = fields.problems
    own_link = _resolve(feed_url, fields.text(item, "url", where), where, problems)
    external = _resolve(feed_url, fields.text(item, "external_url", where), where, problems)
    return ParsedEntry(
        guid=_guid(item, where, problems),
        link=own_link or external,
        title=fields.raw_text(item, "title", where),
        # JSON Feed summaries are plain text; escaped, they survive the HTML-to-text step intact.
        summary_html=html.escape(fields.raw_text(item, "summary", where), quote=False),
        content_html=fields.raw_text(item, "content_html", where),
        content_text=fields.raw_text(item, "content_text", where),
        # JSON Feed: an item without authors has the feed's.
        author=_author(item, where, fields) or feed_author,
        published=_date(item, "date_published", where, fields),
        updated=_date(item, "date_modified", where, fields),
        language=fields.text(item, "language", where) or feed_language,
        # Relative links inside the item's HTML are relative to the item's own page.
        base_url=own_link or feed_url or None,
    )


def _guid(item: Mapping[str, Any], where: str, problems: list[str]) -> str | None:
    value = item.get("id")
    # bool is an int to Python, not an id to anyone.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    found = "missing" if value is None else f"{_kind(value)} {_show(value)}"
    problems.append(f"{where}.id: {found}; the entry is known by its link instead")
    return None


def _author(obj: Mapping[str, Any], where: str, fields: _Fields) -> str | None:
    """The first named author: 1.1's ``authors`` list, else 1.0's ``author`` object."""
    candidates: list[Any] = []
    authors = obj.get("authors")
    if isinstance(authors, list):
        candidates.extend(authors)
    elif authors is not None:
        fields.wrong_type(f"{where}.authors", "an array", authors)
    if "author" in obj:
        candidates.append(obj["author"])
    for candidate in candidates:
        if isinstance(candidate, dict):
            name = candidate.get("name")
            if isinstance(name, str) and name.strip():
                return name.strip()
    return None


def _date(obj: Mapping[str, Any], key: str, where: str, fields: _Fields) -> datetime | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        fields.wrong_type(f"{where}.{key}", "an RFC 3339 date string", value)
        return None
    parsed, assumed_utc = parse_rfc3339(value)
    if parsed is None:
        fields.problems.append(f"{where}.{key}: {_show(value)} is not an RFC 3339 date; ignored")
    elif assumed_utc:
        fields.problems.append(f"{where}.{key}: {_show(value)} has no time zone; UTC assumed")
    return parsed


def parse_rfc3339(text: str) -> tuple[datetime | None, bool]:
    """Read an RFC 3339 timestamp as JSON Feeds write them in practice, converted to UTC.

    Accepts ``Z`` or ``z``, a numeric offset with or without a colon, fractional seconds of any
    length (truncated to microseconds), missing seconds, a space or ``t`` for ``T``, a bare
    date (midnight), and a leap second (read as :59).

    Args:
        text: the timestamp.

    Returns:
        ``(datetime in UTC, False)``; ``(datetime, True)`` when the text had no time zone and UTC
        was assumed; ``(None, False)`` when the text is not a date or names an impossible one.
    """
    match = _DATE.fullmatch(text.strip())
    if match is None:
        return None, False
    parts = match.groupdict()
    try:
        moment = datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            min(int(parts["second"] or 0), 59),
            int((parts["fraction"] or "0")[:6].ljust(6, "0")),
            tzinfo=_zone(parts["zone"]) or UTC,
        )
        return moment.astimezone(UTC), parts["zone"] is None
    except (ValueError, OverflowError):
        return None, False


def _zone(text: str | None) -> timezone | None:
    if text is None:
        return None
    if text.upper() in {"Z", "GMT", "UTC"}:
        return UTC
    digits = text[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    return timezone(-offset if text[0] == "-" else offset)  # ValueError past ±24h


class _Fields:
    """Typed access to JSON members, recording each value of the wrong type as a problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems

    def raw_text(self, obj: Mapping[str, Any], key: str, where: str) -> str:
        """A string member as written, or ``""``."""
        value = obj.get(key)
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        self.wrong_type(f"{where}.{key}", "a string", value)
        return ""

    def text(self, obj: Mapping[str, Any], key: str, where: str) -> str | None:
        """A string member stripped of surrounding space, or None when missing or blank."""
        return self.raw_text(obj, key, where).strip() or None

    def wrong_type(self, what: str, expected: str, value: object) -> None:
        self.problems.append(f"{what}: expected {expected}, found {_kind(value)}; ignored")


def _resolve(base: str, link: str | None, where: str, problems: list[str]) -> str | None:
    if link is None:
        return None
    try:
        return urljoin(base, link)
    except ValueError:  # e.g. an unbalanced "[" in the host
        problems.append(f"{where}: link {_show(link)} cannot be resolved; kept as written")
        return link


def _kind(value: object) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _show(value: object, limit: int = 60) -> str:
    """A short, single-line rendering of a value for messages."""
    shown = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _skip_bom_and_space(head: bytes) -> bytes:
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8) :]
    return head.lstrip(_WHITESPACE)

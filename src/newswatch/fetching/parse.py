"""Turning a downloaded document into a ``ParsedFeed``: RSS and Atom via feedparser, JSON Feed
via our own parser, and a clear error naming the advertised feeds when the URL gave a web page.

feedparser never fetches anything here: it gets the bytes and the HTTP headers (so the charset
resolves as the server meant). Its HTML sanitiser and link resolution are off: newswatch cleans
HTML and resolves links itself, once, in ``normalize``.
"""

from __future__ import annotations

import calendar
import html
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from xml.sax import SAXParseException

import feedparser

from newswatch.fetching import xmlfeed
from newswatch.fetching.discover import discover_feeds, looks_like_html
from newswatch.fetching.errors import FeedParseError, NotAFeedError
from newswatch.fetching.jsonfeed import looks_like_json_feed, parse_json_feed
from newswatch.fetching.parsed import ParsedEntry, ParsedFeed
from newswatch.text import html_to_text

# A missing or unusual Content-Type is how much of the web serves feeds: not a problem.
# (CharacterEncodingOverride is one: feedparser had to guess, and its guess may be wrong.)
_INFORMATIONAL = (feedparser.NonXMLContentType,)

#: Off in tests that compare the fast path with feedparser's own result.
_FAST_PATH = True

_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_DECLARED_ENCODING = re.compile(
    rb"""^(\s*<\?xml\b[^>]*?\bencoding\s*=\s*["'])([\w.:-]+)(["'])""", re.IGNORECASE
)
_UTF8_NAMES = frozenset({"utf-8", "utf8"})
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def parse_document(
    body: bytes, *, url: str, headers: Mapping[str, str] | None = None
) -> ParsedFeed:
    """Parse a feed document of any supported format.

    Args:
        body: the document as downloaded (decompressed).
        url: where it came from (after redirects): the base for relative links.
        headers: the HTTP response headers (lower-case names), for the charset.

    Returns:
        The feed; recoverable problems (malformed XML that still gave entries) are listed in
        ``problems``.

    Raises:
        NotAFeedError: the document is a web page; the message names the feeds it advertises.
        FeedParseError: the document cannot be read as a feed at all.
    """
    headers = dict(headers or {})
    content_type = headers.get("content-type")
    if not body.strip():
        raise FeedParseError("empty document: the server sent no content")
    if looks_like_json_feed(body, content_type):
        return parse_json_feed(body, url)
    if looks_like_html(body, content_type):
        found = discover_feeds(body, url)
        raise NotAFeedError(url, [feed.url for feed in found])
    return _parse_xml(body, url, headers)


def settle_charset(body: bytes, headers: dict[str, str]) -> tuple[bytes, str | None]:
    """Decide the document's charset before feedparser does, when the declarations lie.

    Servers often declare a charset the document is not in. feedparser obeys the HTTP header,
    and a single-byte charset like windows-1251 decodes any bytes, so a UTF-8 document served
    as windows-1251 turns into mojibake without any error. Rules, for documents without a BOM:

    - valid UTF-8 with non-ASCII bytes is UTF-8, whatever was declared (a text in another
      charset is valid UTF-8 only by extraordinary accident);
    - otherwise a declared charset other than UTF-8 is trusted if it decodes the bytes;
    - otherwise the bytes are not what was declared: mostly-UTF-8 keeps its valid parts (bad
      bytes become U+FFFD); mostly-not is read as windows-1251 or windows-1252, a guess.

    Returns:
        The bytes to parse (UTF-8 with a matching declaration when changed; ``headers`` is
        updated to say charset=utf-8) and a problem to record, or ``None``.
    """
    if body.startswith(_BOMS) or body.isascii():
        return body, None
    header = _HEADER_CHARSET.search(headers.get("content-type", ""))
    declared_in_header = header.group(1).lower() if header else None
    found = _DECLARED_ENCODING.search(body[:500])
    declared_in_document = found.group(2).decode("ascii").lower() if found else None
    declared = declared_in_header or declared_in_document
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        if declared is None or declared in _UTF8_NAMES:
            return body, None
        problem = f"the document was declared {declared} but is UTF-8; read as UTF-8"
        return _as_utf8(body, headers), problem
    if declared is not None and declared not in _UTF8_NAMES:
        try:
            body.decode(declared)
        except (UnicodeDecodeError, LookupError):
            pass
        else:
            return body, None
    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    non_ascii = sum(1 for char in text if ord(char) > 127)
    if bad * 5 <= non_ascii:
        what = declared or "undeclared, so UTF-8"
        problem = f"the document is not valid {what}: {bad} bad bytes replaced"
        return _as_utf8(text.encode("utf-8"), headers), problem
    high = sum(1 for byte in body if byte >= 0xC0)
    guess = "windows-1251" if high * 2 > sum(1 for byte in body if byte >= 0x80) else "windows-1252"
    said = f"declared {declared}" if declared else "undeclared"
    problem = f"the document's charset is not the one {said}; read as {guess} (a guess)"
    return _as_utf8(body.decode(guess, errors="replace").encode("utf-8"), headers), problem


def _as_utf8(body: bytes, headers: dict[str, str]) -> bytes:
    """UTF-8 bytes whose XML declaration (if any) and Content-Type say UTF-8."""
    kind = headers.get("content-type", "application/xml").split(";", 1)[0].strip()
    headers["content-type"] = f"{kind or 'application/xml'}; charset=utf-8"
    return _DECLARED_ENCODING.sub(rb"\1utf-8\3", body, count=1)


def _parse_xml(body: bytes, url: str, headers: dict[str, str]) -> ParsedFeed:
    # No Content-Location: feedparser would resolve GUIDs like "story-7" into URLs against it.
    # Relative links are resolved in normalisation instead, against xml:base or the feed's URL.
    headers.pop("content-location", None)
    body, charset_problem = settle_charset(body, headers)
    body = _cap_author_fields(body)
    # Plain RSS and Atom documents take a path that gives exactly feedparser's result, faster.
    result = xmlfeed.parse_feed(body, headers) if _FAST_PATH else None
    if result is None:
        result = feedparser.parse(
            body,
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    version = result.get("version") or ""
    problems: list[str] = [charset_problem] if charset_problem else []
    exc = result.get("bozo_exception")
    if result.get("bozo") and not isinstance(exc, _INFORMATIONAL):
        problems.append(_describe(exc))
    entries = result.get("entries") or []
    if not version and not entries:
        reason = problems[0] if problems else "no RSS, Atom or JSON Feed structure found"
        raise FeedParseError(f"not a feed: {reason}")
    feed = result.get("feed") or {}
    language = _clean(feed.get("language"))
    # Relative links resolve against the document's own URL, as in a web page (xml:base,
    # which feedparser tracks per element, takes precedence).
    base = url
    title = feed.get("title") or ""
    if "html" in ((feed.get("title_detail") or {}).get("type") or ""):
        title = html_to_text(title)
    return ParsedFeed(
        format=version or "unknown",
        title=_clean(title),
        site_url=_clean(feed.get("link")),
        language=language,
        ttl_seconds=_ttl(feed.get("ttl")),
        entries=tuple(_entry(e, language, base) for e in entries),
        problems=tuple(problems),
    )


def _entry(entry: Any, feed_language: str | None, feed_base: str) -> ParsedEntry:
    content_html = ""
    content_text = ""
    for item in entry.get("content") or ():
        value = item.get("value") or ""
        if "html" in (item.get("type") or "html"):
            if len(value) > len(content_html):
                content_html = value
        elif len(value) > len(content_text):
            content_text = value
    summary = entry.get("summary") or ""
    summary_type = (entry.get("summary_detail") or {}).get("type") or "text/html"
    # Plain text goes through the same HTML-to-text path as HTML, so escape its markup chars.
    summary_html = summary if "html" in summary_type else html.escape(summary, quote=False)
    title = entry.get("title") or ""
    if "html" not in ((entry.get("title_detail") or {}).get("type") or "text/plain"):
        title = html.escape(title, quote=False)
    detail = entry.get("title_detail") or {}
    return ParsedEntry(
        guid=_clean(entry.get("id")),
        link=_link(entry),
        title=title,
        summary_html=summary_html,
        content_html=content_html,
        content_text=content_text,
        author=_clean(entry.get("author")),
        published=_datetime(entry.get("published_parsed") or entry.get("created_parsed")),
        # dict.get skips feedparser's deprecated fallback from updated_parsed to published_parsed.
        updated=_datetime(dict.get(entry, "updated_parsed")),
        language=_clean(detail.get("language")) or feed_language,
        base_url=_clean(detail.get("base")) or feed_base,
    )


# feedparser's e-mail pattern for author fields backtracks quadratically on long values
# (a 64 kB <author> takes half a minute). No real author name or address is this long.
_LONG_AUTHOR = re.compile(
    rb"(<(author|dc:creator|managingEditor|webMaster|itunes:author|name|email)\b[^>]{0,200}>)"
    rb"([^<]{500}[\x80-\xbf]*)[^<]+(</\2>)"  # the cut never splits a UTF-8 character
)


def _cap_author_fields(body: bytes) -> bytes:
    if len(body) < 600:
        return body
    return _LONG_AUTHOR.sub(rb"\1\3\4", body)


def _link(entry: Any) -> str | None:
    link = _clean(entry.get("link"))
    # With no <link>, feedparser takes the GUID for one (RSS permalinks by default), but
    # "story-123" is an identifier, not a link: keep only GUIDs that are absolute URLs.
    if link and entry.get("guidislink") and not link.lower().startswith(("http://", "https://")):
        return None
    return link


def _datetime(value: time.struct_time | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _ttl(value: object) -> int | None:
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    # More than a week means "rarely"; larger numbers would not fit the database anyway.
    return min(minutes, 7 * 24 * 60) * 60 if minutes > 0 else None


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _describe(exc: object) -> str:
    if exc is None:
        return "malformed document"
    text = str(exc).strip().splitlines()
    detail = text[0] if text else type(exc).__name__
    if isinstance(exc, SAXParseException):
        return f"malformed XML at line {exc.getLineNumber()}: {exc.getMessage()}"
    return f"malformed document: {detail}"

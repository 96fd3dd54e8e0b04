"""Finding the feeds a web page advertises, for when a feed URL turns out to be a page.

``looks_like_html`` decides whether a document is a page at all (the body outranks the
``Content-Type`` header: an RSS document served as ``text/html`` is still a feed).
``discover_feeds`` reads the page's ``<link rel="alternate">`` declarations, then its ``<a>``
links to the usual feed paths on the same site. ``common_feed_paths`` lists the URLs worth
probing when a page advertises nothing; nothing here touches the network.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urldefrag, urljoin, urlsplit

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, Tag


__all__ = ["DiscoveredFeed", "common_feed_paths", "discover_feeds", "looks_like_html"]

#: Only this much of a page is read: feeds are advertised in the head or in the first screens.
MAX_PAGE_BYTES = 1 << 20

#: How far into a document the sniffer looks for its root element.
_SNIFF_BYTES = 8192

_HTML_MEDIA_TYPES = frozenset({"text/html", "application/xhtml+xml"})

#: ``<link rel="alternate" type=...>`` values that announce a feed.
_FEED_MEDIA_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/json",
        "application/xml",
        "text/xml",
        "text/rss+xml",
        "application/x-rss+xml",
        "application/x-atom+xml",
    }
)

#: Paths that end a feed's URL on most blog engines and static-site generators.
_FEED_PATH_ENDINGS = (
    "/feed",
    "/feed/",
    "/rss",
    "/rss.xml",
    "/atom.xml",
    "/index.xml",
    "/feed.xml",
    "/feed.json",
)

#: What ``common_feed_paths`` proposes, most common first.
_PROBE_PATHS = ("/feed", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml", "/feed.json")

# Root elements of feed and outline documents: whatever the header says, these are not pages.
_NOT_HTML_ROOTS = frozenset({b"rss", b"feed", b"rdf", b"opml"})
_HTML_ROOTS = frozenset({b"html", b"head", b"body"})

_ROOT_NAME = re.compile(rb"<([A-Za-z_][\w.\-]*(?::[\w.\-]+)?)")
_LEADING_INSTRUCTION = re.compile(rb"\s*<\?([\w.:\-]*).*?\?>", re.DOTALL)
_DECLARED_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")
_WHITESPACE = b" \t\r\n\f"


@dataclass(frozen=True, slots=True)
class DiscoveredFeed:
    """A feed a page points to."""

    url: str  # absolute http(s) URL
    title: str | None  # the link's title, or the anchor's text
    type: str | None  # media type declared by <link>; None for a plain <a> link


def looks_like_html(body: bytes, content_type: str | None) -> bool:
    """Tell whether a downloaded document is a web page rather than a feed.

    The start of the body decides when it is clear: an HTML doctype or an ``<html>`` root makes a
    page; an ``<rss>``, ``<feed>``, ``<rdf:RDF>`` or ``<opml>`` root (after an optional XML
    declaration) or a JSON body makes a non-page whatever the header says. Otherwise the
    ``Content-Type`` (``text/html``, ``application/xhtml+xml``) decides.

    Args:
        body: the document as downloaded.
        content_type: the ``Content-Type`` header, if any (parameters allowed).

    Returns:
        True if the document should be treated as an HTML page.
    """
    verdict = _sniff_html(body[:_SNIFF_BYTES])
    if verdict is not None:
        return verdict
    return _media_type(content_type) in _HTML_MEDIA_TYPES


def discover_feeds(body: bytes, page_url: str) -> list[DiscoveredFeed]:
    """List the feeds an HTML page advertises, in document order, without duplicates.

    First every ``<link rel="alternate">`` (``rel`` may hold other tokens too) whose ``type`` is
    a feed type, then every ``<a href>`` on the page's own host or its ``<base>``'s (``www.``
    aside) whose path ends like a feed's (``/feed``, ``/rss.xml``, ``/atom.xml``, ``/index.xml``,
    ``/feed.json``…).
    Links are resolved against ``<base href>`` if the page has one, else the page URL;
    ``feed:`` URLs are rewritten to http(s); anything else that is not http(s) is dropped, and
    so are WordPress REST API links (``/wp-json/``), which WordPress advertises as
    ``application/json`` alternates. Only the first ``MAX_PAGE_BYTES`` of the page are read.

    Args:
        body: the page as downloaded; its encoding is detected from the BOM, the XML
            declaration or ``<meta charset>``.
        page_url: where the page came from (after redirects).

    Returns:
        The feeds found, possibly none.
    """
    body = body[:MAX_PAGE_BYTES]
    if b"<" not in body:
        # No tag, so no link; and Beautiful Soup warns about markup that looks like a file name.
        return []
    soup = _soup(body)
    tags = soup.find_all(["base", "link", "a"])
    base = _base_url(tags, page_url)
    # "Same site" is the page's host, or the host its <base> moves relative links to.
    site_hosts = {_site_host(page_url), _site_host(base)} - {None}
    found: dict[str, DiscoveredFeed] = {}
    for tag in tags:
        if tag.name != "link" or not _is_alternate(tag):
            continue
        media_type = _media_type(_attr(tag, "type"))
        url = _feed_url(base, _attr(tag, "href"))
        if media_type in _FEED_MEDIA_TYPES and url is not None and url not in found:
            found[url] = DiscoveredFeed(url=url, title=_clean(_attr(tag, "title")), type=media_type)
    for tag in tags:
        if tag.name != "a":
            continue
        url = _feed_url(base, _attr(tag, "href"))
        if url is None or url in found or _site_host(url) not in site_hosts:
            continue
        if urlsplit(url).path.lower().endswith(_FEED_PATH_ENDINGS):
            title = _clean(_attr(tag, "title")) or _clean(tag.get_text(" "))
            found[url] = DiscoveredFeed(url=url, title=title, type=None)
    return list(found.values())


def common_feed_paths(page_url: str) -> list[str]:
    """The URLs worth probing for a feed when a page advertises none.

    Args:
        page_url: the page (any path; only its scheme, host and port are used).

    Returns:
        Candidate feed URLs on the page's origin, most common first; empty when the page URL
        is not an absolute http(s) URL.
    """
    try:
        parts = urlsplit(page_url.strip())
        port = parts.port  # reading it validates it
    except ValueError:
        return []
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return []
    host = parts.hostname
    if ":" in host:  # an IPv6 literal goes back into brackets
        host = f"[{host}]"
    origin = f"{parts.scheme.lower()}://{host}" + (f":{port}" if port is not None else "")
    return [origin + path for path in _PROBE_PATHS]


def _sniff_html(head: bytes) -> bool | None:
    """Judge by the document's start: True (a page), False (not a page) or None (can't tell)."""
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8) :]
    position = 0
    while True:
        while position < len(head) and head[position] in _WHITESPACE:
            position += 1
        rest = head[position:]
        if rest[:1] in (b"{", b"["):
            return False  # JSON
        if rest.startswith(b"<!--"):
            end = head.find(b"-->", position + 4)
            if end < 0:
                return None
            position = end + 3
        elif rest.startswith(b"<?"):  # the XML declaration, a stylesheet instruction
            end = head.find(b"?>", position + 2)
            if end < 0:
                return None
            position = end + 2
        elif rest[:9].lower() == b"<!doctype":
            if rest[9:].lstrip(_WHITESPACE)[:4].lower() == b"html":
                return True
            end = _doctype_end(head, position)
            if end < 0:
                return None
            position = end
        else:
            break
    match = _ROOT_NAME.match(head, position)
    if match is None:
        return None
    local_name = match.group(1).rpartition(b":")[2].lower()
    if local_name in _NOT_HTML_ROOTS:
        return False
    if local_name in _HTML_ROOTS:
        return True
    return None


def _doctype_end(head: bytes, start: int) -> int:
    """Where a non-HTML doctype ends, past an internal subset in brackets; -1 if not in view."""
    close = head.find(b">", start)
    bracket = head.find(b"[", start)
    if 0 <= bracket < close:
        subset_end = head.find(b"]", bracket)
        close = head.find(b">", subset_end) if subset_end >= 0 else -1
    return close + 1 if close >= 0 else -1


def _soup(body: bytes) -> BeautifulSoup:
    # Imported here: most processes that parse feeds never look for feeds in a web page, and
    # Beautiful Soup (with soupsieve) weighs some 13 MiB in each of them.
    from bs4 import BeautifulSoup
    from bs4.filter import SoupStrainer

    # Beautiful Soup warns when a document that starts with "<?xml" is parsed as HTML, as XHTML
    # pages are (and any feed handed to us by mistake). Rather than touch the process-wide
    # warning filters, drop the leading processing instructions (the declaration, stylesheets)
    # and pass the declared encoding on; without a BOM it is what Beautiful Soup would use.
    encoding: str | None = None
    while (instruction := _LEADING_INSTRUCTION.match(body)) is not None:
        body = body[instruction.end() :]
        declared = _DECLARED_ENCODING.search(instruction.group())
        if encoding is None and instruction.group(1) == b"xml" and declared is not None:
            encoding = _known_codec(declared.group(1).decode("ascii"))
    strainer = SoupStrainer(["base", "link", "a"])
    return BeautifulSoup(body, "lxml", parse_only=strainer, from_encoding=encoding)


def _known_codec(name: str) -> str | None:
    """The encoding name if Python knows it and it can describe a declaration we read as ASCII."""
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    # A declaration readable as ASCII bytes cannot be in UTF-16 or UTF-32, whatever it says.
    return None if codec.startswith(("utf-16", "utf-32")) else name


def _base_url(tags: list[Tag], page_url: str) -> str:
    """The first ``<base href>``, resolved against the page, if it is http(s)."""
    for tag in tags:
        if tag.name == "base" and _attr(tag, "href") is not None:
            base = _http_url(page_url, _attr(tag, "href"))
            return base or page_url
    return page_url


def _is_alternate(tag: Tag) -> bool:
    return any(token.lower() == "alternate" for token in tag.get_attribute_list("rel"))


def _feed_url(base: str, href: str | None) -> str | None:
    """An href as an absolute http(s) URL without fragment, or None if it cannot be one."""
    if href is None:
        return None
    href = href.strip()
    if not href:
        return None  # an empty href points back at the page itself
    lowered = href.lower()
    if lowered.startswith("feed://"):  # the old "feed" pseudo-scheme
        href = "http://" + href[len("feed://") :]
    elif lowered.startswith("feed:"):
        href = href[len("feed:") :]
    url = _http_url(base, href)
    if url is None or "/wp-json/" in urlsplit(url).path.lower():
        return None
    return url


def _http_url(base: str, href: str | None) -> str | None:
    if href is None:
        return None
    try:
        url = urldefrag(urljoin(base, href.strip())).url
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return None
    return url


def _site_host(url: str) -> str | None:
    """The URL's host name, lower-cased and without a leading ``www.``."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if host is None:
        return None
    return host.removeprefix("www.")


def _attr(tag: Tag, name: str) -> str | None:
    value = tag.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else " ".join(value)


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    return " ".join(text.split()) or None


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()

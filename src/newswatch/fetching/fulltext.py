"""Extracting an article page's main text, for feeds that set ``full_text: true``.

readability-lxml finds the main content block (dropping navigation, comments, footers); the
result goes through the same cleaning as feed content. Links to fetch come from strangers'
feeds, so ``is_private_host`` lets the caller refuse the local network unless the feed itself
lives there.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from newswatch.text import html_to_text, sanitize_html

# readability logs every candidate it weighs at INFO; that is noise for newswatch's users.
logging.getLogger("readability").setLevel(logging.WARNING)
logging.getLogger("readability.readability").setLevel(logging.WARNING)

#: Pages whose extracted text is shorter than this add nothing over the feed's own summary.
MIN_TEXT_CHARS = 200


@dataclass(frozen=True, slots=True)
class PageText:
    """The main text of a page, as plain text and as sanitised HTML."""

    text: str
    html: str


def extract_main_text(body: bytes, url: str) -> PageText | None:
    """The page's main text, or None when nothing article-like was found."""
    # readability (and lxml.html with it) only for feeds that ask for full text.
    from readability import Document as Readable

    try:
        summary = Readable(body, url=url).summary(html_partial=True)
    except Exception:  # readability raises plain Exceptions on odd pages; the feed text stays
        return None
    text = html_to_text(summary)
    if len(text) < MIN_TEXT_CHARS:
        return None
    return PageText(text=text, html=sanitize_html(summary, url))


def is_private_host(url: str) -> bool:
    """Whether a URL names a host on the local network (an IP literal or localhost).

    Host names that resolve to private addresses are caught later, when they are resolved.
    """
    host = (urlsplit(url).hostname or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False

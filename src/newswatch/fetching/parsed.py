"""What parsers produce: a feed document turned into plain values, before normalisation.

Parsers (feedparser for RSS/Atom, ``jsonfeed`` for JSON Feed) fill these; ``normalize`` turns
each ``ParsedEntry`` into an ``Article``. Nothing here is cleaned yet: HTML is still HTML, links
may still carry tracking parameters, but links are absolute where the document allowed it and
datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One entry of a feed, as the document states it."""

    guid: str | None = None
    link: str | None = None  # absolute where it could be resolved
    title: str = ""  # may hold HTML or entities; normalisation makes it text
    summary_html: str = ""  # description / summary
    content_html: str = ""  # content:encoded / content / content_html, preferred over summary
    content_text: str = ""  # plain-text content when that is all the document gives
    author: str | None = None
    published: datetime | None = None  # UTC
    updated: datetime | None = None  # UTC
    language: str | None = None
    base_url: str | None = None  # base for relative links inside the HTML


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A whole feed document."""

    format: str  # e.g. "rss20", "rss10", "atom10", "atom03", "json1", "json11"
    title: str | None = None
    site_url: str | None = None
    language: str | None = None
    ttl_seconds: int | None = None  # RSS <ttl>, a floor for the polling interval
    entries: tuple[ParsedEntry, ...] = ()
    problems: tuple[str, ...] = field(default=())  # recoverable problems (malformed XML…)

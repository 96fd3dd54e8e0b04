"""Turning parsed feed entries into clean ``Article`` values.

Pure functions of (entries, feed, fetch time): plain text and sanitised HTML from the entry's
content, absolute and canonical links, UTC dates (the fetch time stands in, flagged, when a date
is missing or absurd), the entry's identity inside its feed, and the signatures dedup and story
clustering use.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from newswatch.dedup import story_signature
from newswatch.fetching.parsed import ParsedEntry
from newswatch.model import Article
from newswatch.text import (
    absolute_url,
    canonical_url,
    content_fingerprint,
    html_to_text,
    sanitize_html,
    text_and_safe_html,
)

#: Titles longer than this are cut (a hostile feed may send megabytes of title).
MAX_TITLE_CHARS = 500
#: Summaries shown in digests are cut to this.
MAX_SUMMARY_CHARS = 1_000
#: Article text and HTML kept per entry.
MAX_CONTENT_CHARS = 200_000
#: Links longer than this are dropped.
MAX_URL_CHARS = 2_000
#: A date further in the future than this is not believed.
FUTURE_TOLERANCE = timedelta(days=1)
#: A date before this is not believed either (epoch zeros, parse accidents).
EARLIEST_DATE = datetime.fromisoformat("1995-01-01T00:00:00+00:00")
#: Raise this when a change makes normalisation turn some entry into a different article: the
#: source hashes stored before then stop matching, and the entries are normalised again (and
#: their articles updated where the title or text came out differently).
NORMALIZATION_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class Normalized:
    """A document's entries sorted out against what is stored of its feed."""

    #: The entries not stored as they are now, normalised (new ones and changed ones).
    articles: list[Article]
    #: Entry keys of the entries stored before exactly as they are now (not normalised).
    unchanged: frozenset[str]


def source_hash(entry: ParsedEntry, feed_url: str) -> str:
    """A hash of what decides the article an entry is stored as: equal hashes make articles
    with the same key, title, text and links.

    Only what storing compares goes in (an entry whose date or author alone changed is stored
    as it was, so those are left out, or a feed that stamps every entry with its build time
    would have every entry made again on every fetch), plus the document's address when the
    entry's link is relative to it.
    """
    link = entry.link or ""
    relative = not link.startswith(("http://", "https://"))
    values = [
        feed_url if relative else "",
        entry.guid or "",  # a missing value and an empty one are normalised alike
        link,
        entry.title,
        entry.summary_html,
        entry.content_html,
        entry.content_text,
        entry.base_url or "",
    ]
    lengths = ",".join(map(str, map(len, values)))  # keeps the values apart, whatever they hold
    payload = "\n".join([lengths, *values]).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(payload, digest_size=16, person=_SOURCE_PERSON).hexdigest()


_SOURCE_PERSON: Final = f"newswatch-{NORMALIZATION_VERSION}".encode()


def normalize_entries(
    entries: Iterable[ParsedEntry],
    *,
    feed_id: int,
    feed_url: str,
    feed_language: str | None,
    fetched_at: datetime,
    backlog: bool = False,
) -> list[Article]:
    """Normalise a feed's entries; a key seen twice in one document keeps its first entry.

    Args:
        entries: the parsed entries, in document order.
        feed_id: the stored feed they belong to.
        feed_url: the URL the document came from (base for relative links).
        feed_language: the feed's language, for entries that state none.
        fetched_at: when the document was fetched (UTC).
        backlog: mark the articles as backlog (a feed's first fetch).

    Returns:
        The articles, in document order, without duplicates.
    """
    return normalize_document(
        entries,
        feed_id=feed_id,
        feed_url=feed_url,
        feed_language=feed_language,
        fetched_at=fetched_at,
        backlog=backlog,
    ).articles


def normalize_document(
    entries: Iterable[ParsedEntry],
    *,
    feed_id: int,
    feed_url: str,
    feed_language: str | None,
    fetched_at: datetime,
    backlog: bool = False,
    known: Mapping[str, str] | None = None,
) -> Normalized:
    """``normalize_entries``, leaving out the entries stored before exactly as they are now.

    Args:
        known: entry keys of the feed's stored articles by their ``source_hash``. An entry
            whose hash is there would come out as that stored article again; it is not
            normalised, and its key is listed in ``unchanged`` instead. A key seen twice in
            the document still keeps its first entry.
        The others: as ``normalize_entries``.
    """
    known = known or {}
    articles: dict[str, Article] = {}
    unchanged: set[str] = set()
    for entry in entries:
        digest = source_hash(entry, feed_url)
        key = known.get(digest)
        if key is not None:
            if key not in articles:
                unchanged.add(key)
            continue
        article = normalize_entry(
            entry,
            feed_id=feed_id,
            feed_url=feed_url,
            feed_language=feed_language,
            fetched_at=fetched_at,
            backlog=backlog,
            source=digest,
        )
        if article.entry_key not in unchanged:
            articles.setdefault(article.entry_key, article)
    return Normalized(list(articles.values()), frozenset(unchanged))


def normalize_entry(
    entry: ParsedEntry,
    *,
    feed_id: int,
    feed_url: str,
    feed_language: str | None,
    fetched_at: datetime,
    backlog: bool = False,
    source: str | None = None,
) -> Article:
    """Normalise one entry; see ``normalize_entries`` (``source``: the entry's
    ``source_hash``, when it is known already)."""
    if source is None:
        source = source_hash(entry, feed_url)
    entry = _without_nul(entry)
    base = entry.base_url or feed_url
    link = absolute_url(entry.link, base) or absolute_url(entry.link, feed_url)
    if link is not None and len(link) > MAX_URL_CHARS:
        link = None  # no real article lives at a 9 kB address; it would not fit an index either
    canonical = canonical_url(link)
    if canonical is not None and len(canonical) > MAX_URL_CHARS:
        link = canonical = None  # percent-encoding made it too long to index
    title = _clip(html_to_text(entry.title), MAX_TITLE_CHARS)

    # The stored HTML comes from the content, else the summary; that markup's text is needed
    # too, so one parse serves both.
    raw_html = entry.content_html or entry.summary_html
    if len(raw_html) > MAX_CONTENT_CHARS * 2:
        raw_text = html_to_text(raw_html)
        content_html = sanitize_html(raw_html[: MAX_CONTENT_CHARS * 2], base)
    else:
        raw_text, content_html = text_and_safe_html(raw_html, base)
    if entry.content_html:
        content_text = raw_text
        summary_text = html_to_text(entry.summary_html) if entry.summary_html else ""
    else:
        summary_text = raw_text
        if entry.content_text:
            content_text = html_to_text(html.escape(entry.content_text, quote=False))
        else:
            content_text = summary_text
    content_text = _clip(content_text, MAX_CONTENT_CHARS)
    summary_source = summary_text if entry.summary_html else content_text
    summary = _clip(summary_source, MAX_SUMMARY_CHARS)
    if not title:
        title = _clip(summary or content_text, 120) or (canonical or "(untitled)")

    # The claimed date: published, else updated, whichever is believable; else the fetch time.
    claimed = [d for d in (entry.published, entry.updated) if _is_believable(d, fetched_at)]
    published = claimed[0] if claimed else fetched_at
    estimated = not claimed
    updated = entry.updated if _is_believable(entry.updated, fetched_at) else None
    return Article(
        feed_id=feed_id,
        entry_key=entry_key(entry.guid, canonical, title, content_text),
        title=title,
        url=link,
        canonical_url=canonical,
        guid=_clip(entry.guid, 2_000) if entry.guid else None,
        summary=summary,
        content_text=content_text,
        content_html=content_html[:MAX_CONTENT_CHARS],
        author=_clip(entry.author, 200) if entry.author else None,
        language=_language(entry.language or feed_language),
        published_at=published,
        updated_at=updated if updated != published else None,
        date_estimated=estimated,
        fingerprint=content_fingerprint(title, content_text),
        # A text with no words has no signature (0 would make all such articles one story).
        simhash=story_signature(title, content_text),
        source_hash=source,
        backlog=backlog,
        ingested_at=fetched_at,
    )


def _without_nul(entry: ParsedEntry) -> ParsedEntry:
    # NUL is never meaningful in text, and PostgreSQL refuses it in every text column.
    changes = {
        name: value.replace("\x00", "")
        for name in (
            "guid",
            "link",
            "title",
            "summary_html",
            "content_html",
            "content_text",
            "author",
            "language",
            "base_url",
        )
        if isinstance(value := getattr(entry, name), str) and "\x00" in value
    }
    return replace(entry, **changes) if changes else entry  # type: ignore[arg-type]


def entry_key(guid: str | None, canonical: str | None, title: str, text: str) -> str:
    """An entry's identity inside its feed: its GUID, else its canonical link, else a hash.

    Long GUIDs and links are hashed so the key stays short and indexable.
    """
    if guid:
        return _bounded("guid:", guid)
    if canonical:
        return _bounded("url:", canonical)
    digest = hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()
    return f"hash:{digest[:40]}"


def _bounded(prefix: str, value: str) -> str:
    if len(value) <= 400:
        return prefix + value
    return f"{prefix}sha256:{hashlib.sha256(value.encode()).hexdigest()}"


def _is_believable(value: datetime | None, fetched_at: datetime) -> bool:
    return value is not None and EARLIEST_DATE <= value <= fetched_at + FUTURE_TOLERANCE


def _language(value: str | None) -> str | None:
    if not value:
        return None
    # "en-US", "en_us", "EN" → "en-us" / "en": short, lower-case, hyphenated.
    return value.strip().replace("_", "-").lower()[:16] or None


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip() + "…"

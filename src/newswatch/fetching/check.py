"""``newswatch feeds check URL``: is this URL a feed, and if it is a page, where are its feeds?"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from newswatch.fetching.discover import common_feed_paths, looks_like_html
from newswatch.fetching.errors import FeedParseError, NotAFeedError
from newswatch.fetching.http import Fetcher, FetchError
from newswatch.fetching.parse import parse_document
from newswatch.fetching.parsed import ParsedFeed
from newswatch.normalize import normalize_entries

SAMPLES = 5


@dataclass(frozen=True, slots=True)
class Sample:
    """One entry shown as an example."""

    title: str
    url: str | None
    published: datetime | None  # None when the feed gives no usable date


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What a URL turned out to be."""

    url: str
    final_url: str | None
    kind: str  # "feed" | "page" | "error"
    status: int | None = None
    format: str | None = None
    title: str | None = None
    entries: int = 0
    samples: tuple[Sample, ...] = ()
    problems: tuple[str, ...] = ()
    feeds_found: tuple[str, ...] = ()
    error: str | None = None


def check_url(url: str, fetcher: Fetcher, *, now: datetime) -> CheckReport:
    """Fetch ``url`` once and describe it; nothing is stored.

    A page that advertises no feed is probed at the usual feed paths of its site.
    """
    return asyncio.run(_check(url, fetcher, now))


async def _check(url: str, fetcher: Fetcher, now: datetime) -> CheckReport:
    async with fetcher:
        try:
            response = await fetcher.fetch(url)
        except FetchError as exc:
            return CheckReport(url, None, "error", error=str(exc))
        if not 200 <= response.status < 300:
            return CheckReport(
                url,
                response.final_url,
                "error",
                status=response.status,
                error=f"HTTP {response.status}",
            )
        try:
            parsed = parse_document(response.body, url=response.final_url, headers=response.headers)
        except NotAFeedError as exc:
            found = list(exc.feeds)
            if not found and looks_like_html(response.body, response.headers.get("content-type")):
                found = await _probe(fetcher, response.final_url)
            return CheckReport(
                url,
                response.final_url,
                "page",
                status=response.status,
                feeds_found=tuple(found),
                error=str(exc) if not found else None,
            )
        except FeedParseError as exc:
            return CheckReport(
                url, response.final_url, "error", status=response.status, error=str(exc)
            )
        return _describe(url, response.final_url, response.status, parsed, now)


async def _probe(fetcher: Fetcher, page_url: str) -> list[str]:
    async def try_one(candidate: str) -> str | None:
        try:
            response = await fetcher.fetch(candidate)
            if not 200 <= response.status < 300:
                return None
            parse_document(response.body, url=response.final_url, headers=response.headers)
        except (FetchError, FeedParseError):
            return None
        return response.final_url

    found = await asyncio.gather(*(try_one(c) for c in common_feed_paths(page_url)))
    return list(dict.fromkeys(url for url in found if url))


def _describe(
    url: str, final_url: str, status: int, parsed: ParsedFeed, now: datetime
) -> CheckReport:
    articles = normalize_entries(
        parsed.entries[:SAMPLES],
        feed_id=0,
        feed_url=final_url,
        feed_language=parsed.language,
        fetched_at=now,
    )
    samples = tuple(
        Sample(a.title, a.url, None if a.date_estimated else a.published_at) for a in articles
    )
    return CheckReport(
        url,
        final_url,
        "feed",
        status=status,
        format=parsed.format,
        title=parsed.title,
        entries=len(parsed.entries),
        samples=samples,
        problems=parsed.problems,
    )

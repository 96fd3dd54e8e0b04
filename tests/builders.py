"""Small test helpers shared by several test modules (fixtures live in conftest.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from newswatch.model import Feed, FeedStatus


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 26, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def feed_state(now: datetime, **changes: Any) -> Feed:
    """A feed as storage would return it right after it was declared, with ``changes``."""
    feed = Feed(
        id=1,
        declared_url="https://a.example/rss",
        url="https://a.example/rss",
        name=None,
        title=None,
        site_url=None,
        status=FeedStatus.NEW,
        active=True,
        interval_seconds=None,
        full_text=False,
        backfill=False,
        etag=None,
        last_modified=None,
        body_hash=None,
        redirect_url=None,
        redirect_count=0,
        consecutive_failures=0,
        last_error=None,
        last_problem=None,
        last_fetched_at=None,
        last_success_at=None,
        next_fetch_at=now,
        created_at=now,
    )
    return replace(feed, **changes)


def rss_document(items: list[tuple[str, str, str, str]], *, title: str = "Example news") -> bytes:
    """An RSS 2.0 document with ``(guid, title, link, description)`` items, newest first."""
    from xml.sax.saxutils import escape

    entries = "\n".join(
        f"<item><guid>{escape(guid)}</guid><title>{escape(headline)}</title>"
        f"<link>{escape(link)}</link><description>{escape(text)}</description></item>"
        for guid, headline, link, text in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://news.example/</link>"
        f"<description>test feed</description>\n{entries}\n</channel></rss>"
    ).encode()


#: Short articles that hit the default topics (checked in test_digest_delivery).
BRIEFING_NEWS = {
    "guarantees": (
        "Allies draft NATO-style security guarantees for Ukraine",
        "European leaders and Washington agreed on Article 5-like security guarantees for "
        "Kyiv, with a multinational force and a backstop, as part of the 20-point peace plan "
        "talks in Berlin.",
    ),
    "guarantees-2": (
        "Kyiv wants Article 5-like guarantees before any ceasefire",
        "Zelensky said Ukraine needs legally binding security guarantees from the United "
        "States and Europe before agreeing to a ceasefire in the peace talks.",
    ),
    "donbas": (
        "Russia demands Ukraine withdraw from Donbas as price of peace",
        "The Kremlin insists that Ukrainian troops leave the rest of the Donetsk region; Kyiv "
        "proposes a demilitarised economic free zone in Donbas instead, under the US peace plan.",
    ),
    "assets": (
        "EU leaders debate using frozen Russian assets for reparations loan",
        "Belgium resists a plan to use Russian central bank assets frozen at Euroclear to fund "
        "a 140 billion euro reparations loan for Ukraine.",
    ),
    "nato": (
        "Ukraine drops NATO membership bid in exchange for guarantees",
        "Zelensky signalled Ukraine could give up its ambition to join NATO if the alliance "
        "members offer bilateral security guarantees.",
    ),
    "relations": (
        "Trump and Zelensky discuss minerals deal and US weapons",
        "US-Ukraine relations: Donald Trump met Volodymyr Zelensky at the White House to "
        "discuss the minerals deal, Patriot missiles and American support for Kyiv.",
    ),
    "bakery": (
        "Local bakery wins bread award",
        "A bakery in Leeds won the national bread award for its sourdough.",
    ),
}

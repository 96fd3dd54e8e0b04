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

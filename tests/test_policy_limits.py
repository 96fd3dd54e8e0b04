"""Review: the scheduling policy overflows ``timedelta`` on large numbers and crashes the pass.

``decide`` runs outside any per-feed ``try``, so an ``OverflowError`` here aborts the whole
refresh pass; and since the feed's state is never written, every later pass crashes the same way.

- policy.py:124 ``interval * 2 ** (failures - 1)`` overflows after ~37 consecutive failures at a
  30-minute interval (about a month of a dead feed at the 24 h cap): "never giving up" turns into
  "every pass crashes forever".
- policy.py:157 ``Retry-After: 99999999999999`` (seconds), policy.py:183 ``Cache-Control:
  max-age=99999999999999`` and policy.py:187 an RSS ``<ttl>`` that large overflow too.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from builders import feed_state
from newswatch.fetching.policy import MAX_BACKOFF, Failure, Success, decide
from newswatch.model import Feed, FeedStatus

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DEFAULT = timedelta(minutes=30)
FEED = feed_state(NOW)
HUGE = "99999999999999"


def _decide(feed: Feed, outcome: Success | Failure) -> datetime | None:
    update = decide(feed, outcome, now=NOW, default_interval=DEFAULT, rng=random.Random(0))
    return update.next_fetch_at


def test_a_long_failure_streak_keeps_the_capped_backoff() -> None:
    """Bug: policy.py:124 overflows once consecutive_failures reaches ~37."""
    dead = replace(FEED, consecutive_failures=40, status=FeedStatus.FAILING)
    next_fetch = _decide(dead, Failure("connection refused"))
    assert next_fetch is not None
    assert next_fetch <= NOW + MAX_BACKOFF * 1.1


def test_a_huge_retry_after_is_capped_not_a_crash() -> None:
    """Bug: policy.py:157 builds timedelta(seconds=<any digits>) and overflows."""
    next_fetch = _decide(FEED, Failure("HTTP 503", 503, {"retry-after": HUGE}))
    assert next_fetch is not None


def test_a_huge_max_age_is_capped_not_a_crash() -> None:
    """Bug: policy.py:183 builds timedelta(seconds=<any digits>) before the 24 h cap."""
    next_fetch = _decide(FEED, Success({"cache-control": f"max-age={HUGE}"}, "h"))
    assert next_fetch is not None
    assert next_fetch <= NOW + timedelta(hours=24) * 1.1


def test_a_huge_rss_ttl_is_capped_not_a_crash() -> None:
    """Bug: policy.py:187 (and parse.py ``_ttl``) let an absurd <ttl> overflow timedelta."""
    next_fetch = _decide(FEED, Success({}, "h", ttl_seconds=int(HUGE) * 60))
    assert next_fetch is not None

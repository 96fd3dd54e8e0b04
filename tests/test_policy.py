"""The fetch scheduling policy: intervals, floors, backoff, Retry-After, redirects, 410."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from builders import feed_state
from newswatch.fetching.policy import (
    FAILING_AFTER,
    MAX_BACKOFF,
    Failure,
    Success,
    decide,
    parse_retry_after,
)
from newswatch.model import Feed, FeedStatus

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DEFAULT = timedelta(minutes=30)
FEED = feed_state(NOW)


class NoJitter(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return 0.0


def run(feed: Feed, outcome: Success | Failure) -> Feed:
    update = decide(feed, outcome, now=NOW, default_interval=DEFAULT, rng=NoJitter())
    fields = {name: getattr(update, name) for name in update.__slots__ if hasattr(feed, name)}
    return replace(feed, **fields)


def test_success_schedules_the_interval_and_keeps_validators() -> None:
    after = run(FEED, Success({"etag": '"v1"', "last-modified": "Tue, 1 Dec 2026"}, "h1"))
    assert after.status is FeedStatus.OK
    assert after.next_fetch_at == NOW + DEFAULT
    assert (after.etag, after.last_modified, after.body_hash) == (
        '"v1"',
        "Tue, 1 Dec 2026",
        "h1",
    )
    # A 304 without validators keeps the ones we had.
    again = run(after, Success({}))
    assert (again.etag, again.body_hash) == ('"v1"', "h1")


def test_feed_interval_and_server_floors() -> None:
    feed = replace(FEED, interval_seconds=600)
    assert run(feed, Success({})).next_fetch_at == NOW + timedelta(minutes=10)
    # Cache-Control max-age and RSS <ttl> are floors...
    slow = run(feed, Success({"cache-control": "public, max-age=3600"}))
    assert slow.next_fetch_at == NOW + timedelta(hours=1)
    assert run(feed, Success({}, ttl_seconds=7200, parsed=True)).next_fetch_at == NOW + timedelta(
        hours=2
    )
    # A 304 does not repeat the <ttl>: the one seen before still holds.
    remembered = replace(feed, ttl_seconds=7200)
    assert run(remembered, Success({})).next_fetch_at == NOW + timedelta(hours=2)
    # ...but never more than a day, and never shorter than our own interval.
    huge = run(feed, Success({"cache-control": "max-age=31536000"}))
    assert huge.next_fetch_at == NOW + timedelta(days=1)
    assert run(feed, Success({"cache-control": "max-age=5"})).next_fetch_at == NOW + timedelta(
        minutes=10
    )


def test_jitter_stays_within_ten_percent() -> None:
    rng = random.Random(7)
    waits = {
        decide(FEED, Success({}), now=NOW, default_interval=DEFAULT, rng=rng).next_fetch_at
        for _ in range(50)
    }
    assert len(waits) > 10
    assert all(NOW + DEFAULT * 0.9 <= w <= NOW + DEFAULT * 1.1 for w in waits if w)


def test_failures_back_off_and_become_failing_but_never_stop() -> None:
    feed = replace(FEED, status=FeedStatus.OK)
    waits = []
    for attempt in range(1, 12):
        feed = run(feed, Failure("HTTP 500 Internal Server Error", 500, {}))
        assert feed.consecutive_failures == attempt
        assert feed.last_error == "HTTP 500 Internal Server Error"
        expected = FeedStatus.FAILING if attempt >= FAILING_AFTER else FeedStatus.OK
        assert feed.status is expected
        assert feed.next_fetch_at is not None
        waits.append(feed.next_fetch_at - NOW)
    assert waits[:4] == [DEFAULT, DEFAULT * 2, DEFAULT * 4, DEFAULT * 8]
    assert waits[-1] == MAX_BACKOFF
    # One success clears it all.
    healed = run(feed, Success({}, "h"))
    assert (healed.status, healed.consecutive_failures, healed.last_error) == (
        FeedStatus.OK,
        0,
        None,
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [("120", timedelta(seconds=120)), ("Thu, 26 Nov 2026 15:00:00 GMT", timedelta(hours=3))],
)
def test_retry_after_is_honoured(header: str, expected: timedelta) -> None:
    assert parse_retry_after(header, NOW) == expected
    after = run(FEED, Failure("HTTP 429 Too Many Requests", 429, {"retry-after": header}))
    assert after.next_fetch_at == NOW + max(expected, DEFAULT)


def test_retry_after_garbage_is_ignored() -> None:
    assert parse_retry_after("soon", NOW) is None
    after = run(FEED, Failure("HTTP 503", 503, {"retry-after": "soon"}))
    assert after.next_fetch_at == NOW + DEFAULT


def test_gone_disables_the_feed_with_the_reason() -> None:
    after = run(FEED, Failure("HTTP 410 Gone", 410, {}))
    assert after.status is FeedStatus.DISABLED
    assert after.last_error == "HTTP 410 Gone"
    assert after.next_fetch_at is None


def test_permanent_redirect_is_adopted_on_the_second_sighting() -> None:
    moved = "https://b.example/feed"
    first = run(FEED, Success({}, "h", permanent_redirect=moved))
    assert first.url == FEED.url
    assert (first.redirect_url, first.redirect_count) == (moved, 1)
    second = run(first, Success({}, "h", permanent_redirect=moved))
    assert second.url == moved
    assert (second.redirect_url, second.redirect_count) == (None, 0)
    # A redirect seen once, then not, is forgotten.
    flaky = run(run(FEED, Success({}, permanent_redirect=moved)), Success({}))
    assert (flaky.url, flaky.redirect_url, flaky.redirect_count) == (FEED.url, None, 0)


def test_jitter_never_undercuts_the_server_or_overshoots_the_cap() -> None:
    rng = random.Random(3)
    feed = replace(FEED, interval_seconds=600)
    for _ in range(50):
        update = decide(
            feed,
            Success({"cache-control": "max-age=3600"}),
            now=NOW,
            default_interval=DEFAULT,
            rng=rng,
        )
        assert update.next_fetch_at is not None
        assert update.next_fetch_at >= NOW + timedelta(hours=1)
    dead = replace(FEED, consecutive_failures=40)
    for _ in range(50):
        update = decide(dead, Failure("down"), now=NOW, default_interval=DEFAULT, rng=rng)
        assert update.next_fetch_at is not None
        assert update.next_fetch_at <= NOW + MAX_BACKOFF

"""When to fetch a feed next, and what its state becomes after a fetch.

A pure function of (feed state, what happened, now, settings): it touches no network and no
database, so every rule here is testable as plain data in, plain data out.

The rules:

- The interval is the feed's own (else ``fetch.default_interval``), never shorter than what the
  server asks for (``Cache-Control: max-age``, RSS ``<ttl>``) up to a day, with ±10 % jitter so
  feeds added together do not stay in lockstep.
- A failure backs off exponentially from the interval, capped at ``MAX_BACKOFF``; a
  ``Retry-After`` on 429/503 is honoured (up to ``MAX_RETRY_AFTER``). A feed is never given up:
  after ``FAILING_AFTER`` failures in a row its status is ``failing``, and it keeps being tried
  at the capped interval. 410 Gone disables it, with the reason.
- A permanent redirect (every hop 301/308) replaces the feed's URL once it has been seen on
  ``REDIRECT_CONFIRMATIONS`` consecutive fetches, so one misconfigured response cannot move a
  feed for good.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from newswatch.model import Feed, FeedStatus, FeedUpdate

FAILING_AFTER = 3
MAX_BACKOFF = timedelta(hours=24)
MAX_SERVER_FLOOR = timedelta(hours=24)
MAX_RETRY_AFTER = timedelta(days=2)
REDIRECT_CONFIRMATIONS = 2
JITTER = 0.1
_YEAR = 366 * 86400

_MAX_AGE_RE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Success:
    """The fetch worked: new content, an unchanged body, or 304 Not Modified."""

    headers: Mapping[str, str]
    body_hash: str | None = None  # None for 304
    ttl_seconds: int | None = None  # RSS <ttl>, when the body was parsed
    permanent_redirect: str | None = None
    title: str | None = None
    site_url: str | None = None
    problem: str | None = None  # a recoverable problem of the document
    parsed: bool = False  # the body was parsed (so ttl_seconds and problem are current)


@dataclass(frozen=True, slots=True)
class Failure:
    """The fetch or the parse failed."""

    message: str
    status: int | None = None  # HTTP status, when there was one
    headers: Mapping[str, str] | None = None
    permanent_redirect: str | None = None


Outcome = Success | Failure


def base_interval(feed: Feed, default: timedelta) -> timedelta:
    """The feed's configured interval, else the default."""
    return timedelta(seconds=feed.interval_seconds) if feed.interval_seconds else default


def decide(
    feed: Feed,
    outcome: Outcome,
    *,
    now: datetime,
    default_interval: timedelta,
    rng: random.Random | None = None,
) -> FeedUpdate:
    """The feed's new state after ``outcome``.

    Args:
        feed: the feed's state before the fetch.
        outcome: what the fetch (and parse) gave.
        now: the time of the fetch, UTC.
        default_interval: ``fetch.default_interval``.
        rng: randomness for the jitter (injectable for tests).

    Returns:
        The state to store.
    """
    rng = rng or random.Random()
    interval = base_interval(feed, default_interval)
    url, redirect_url, redirect_count = _redirect_state(feed, outcome.permanent_redirect)

    if isinstance(outcome, Success):
        ttl = outcome.ttl_seconds if outcome.parsed else feed.ttl_seconds
        floor = min(max(_max_age(outcome.headers), _seconds(ttl)), MAX_SERVER_FLOOR)
        # Jitter spreads our own schedule; it never undercuts what the server asked for.
        wait = max(_jitter(interval, rng), floor)
        return FeedUpdate(
            url=url,
            status=FeedStatus.OK,
            etag=_validator(outcome.headers.get("etag")) or feed.etag,
            last_modified=_validator(outcome.headers.get("last-modified")) or feed.last_modified,
            body_hash=outcome.body_hash or feed.body_hash,
            redirect_url=redirect_url,
            redirect_count=redirect_count,
            consecutive_failures=0,
            last_error=None,
            last_fetched_at=now,
            last_success_at=now,
            next_fetch_at=now + wait,
            title=outcome.title or feed.title,
            site_url=outcome.site_url or feed.site_url,
            # A 304 or an identical body says nothing new about the document.
            last_problem=outcome.problem if outcome.parsed else feed.last_problem,
            ttl_seconds=ttl,
        )

    failures = feed.consecutive_failures + 1
    if outcome.status == 410:
        status, next_fetch = FeedStatus.DISABLED, None
    else:
        # The exponent is capped before multiplying: a feed dead for months must not overflow.
        backoff = min(interval * (2 ** min(failures - 1, 30)), MAX_BACKOFF)
        next_fetch = now + min(_jitter(backoff, rng), MAX_BACKOFF)
        if outcome.status in (429, 503) and outcome.headers is not None:
            retry_after = parse_retry_after(outcome.headers.get("retry-after"), now)
            if retry_after is not None:
                # The server's word is a minimum: jitter may add to it, never take from it.
                next_fetch = max(next_fetch, now + min(retry_after, MAX_RETRY_AFTER))
        status = FeedStatus.FAILING if failures >= FAILING_AFTER else _unchanged_status(feed)
    return FeedUpdate(
        url=url,
        status=status,
        etag=feed.etag,
        last_modified=feed.last_modified,
        body_hash=feed.body_hash,
        redirect_url=redirect_url,
        redirect_count=redirect_count,
        consecutive_failures=failures,
        last_error=outcome.message,
        last_fetched_at=now,
        last_success_at=feed.last_success_at,
        next_fetch_at=next_fetch,
        title=feed.title,
        site_url=feed.site_url,
        last_problem=feed.last_problem,
        ttl_seconds=feed.ttl_seconds,
    )


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After`` as a delay (it may be seconds or an HTTP date), at most a year."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=min(int(value), _YEAR))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    return min(max(when - now, timedelta(0)), timedelta(seconds=_YEAR))


def _validator(value: str | None) -> str | None:
    # Validators are sent back in request headers, which must be printable ASCII; a server
    # that sends anything else gets unconditional requests rather than breaking every fetch.
    if value and value.isascii() and value.isprintable() and len(value) <= 1000:
        return value
    return None


def _unchanged_status(feed: Feed) -> FeedStatus:
    # One or two failures in a row do not make a feed "failing" yet; the error is still shown.
    return FeedStatus.NEW if feed.status is FeedStatus.NEW else FeedStatus.OK


def _redirect_state(feed: Feed, target: str | None) -> tuple[str, str | None, int]:
    if target is None or target == feed.url:
        return feed.url, None, 0
    count = feed.redirect_count + 1 if feed.redirect_url == target else 1
    if count >= REDIRECT_CONFIRMATIONS:
        return target, None, 0
    return feed.url, target, count


def _max_age(headers: Mapping[str, str]) -> timedelta:
    match = _MAX_AGE_RE.search(headers.get("cache-control", ""))
    return _seconds(int(match.group(1))) if match else timedelta(0)


def _seconds(value: int | None) -> timedelta:
    # Servers send absurd numbers; anything past a year means "rarely", and fits a timedelta.
    return timedelta(seconds=min(value, _YEAR)) if value and value > 0 else timedelta(0)


def _jitter(wait: timedelta, rng: random.Random) -> timedelta:
    return wait * (1 + rng.uniform(-JITTER, JITTER))

"""Fault matrix, "Network": one row per way the network or the server lets a fetch down.

Each row points one feed at a local server (or address) that misbehaves, beside a healthy
feed, runs real ``Monitor`` passes an hour apart, and asserts what the user sees: the feed's
status (new/ok/failing/disabled), ``last_error``, articles stored, when it is next due, and
that the healthy feed was fetched and stored in the same pass.
"""

from __future__ import annotations

import email.utils
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from faultkit import RSS, Ctx, Fault, Run, gap, run_and_check, table

from builders import rss_document
from feedserver import Route
from newswatch.model import FeedStatus

ITEMS = [
    ("net-1", "Network row: first story", "https://net.example/1", "First."),
    ("net-2", "Network row: second story", "https://net.example/2", "Second."),
]
FEED = rss_document(ITEMS, title="Network row")
#: Small timeouts keep the slow rows quick; the budget is for the whole exchange.
QUICK = {"timeout": "2s"}


def serve(path: str, **route: Any) -> Callable[[Ctx], str]:
    """A row whose faulty feed is one route."""

    def register(ctx: Ctx) -> str:
        return ctx.server.route(path, **route)

    return register


def serve_sequence(path: str, *routes: Route) -> Callable[[Ctx], str]:
    """A row whose feed answers each request with the next route (the last one repeats)."""

    def register(ctx: Ctx) -> str:
        return ctx.server.route(path, responses=list(routes))

    return register


def chain(*statuses: int, end: bytes | None = FEED) -> Callable[[Ctx], str]:
    """``/hop0`` redirects with ``statuses[0]`` to ``/hop1``..., the last hop to the feed."""

    def register(ctx: Ctx) -> str:
        for n, status in enumerate(statuses):
            ctx.server.route(f"/hop{n}", status=status, redirect_to=f"/hop{n + 1}")
        if end is not None:
            ctx.server.route(f"/hop{len(statuses)}", body=end, headers=RSS)
        return f"{ctx.server.url}/hop0"

    return register


def loop(*paths: str) -> Callable[[Ctx], str]:
    """Each path redirects to the next, the last one back to the first."""

    def register(ctx: Ctx) -> str:
        for here, there in zip(paths, paths[1:] + paths[:1], strict=True):
            ctx.server.route(here, status=302, redirect_to=there)
        return f"{ctx.server.url}{paths[0]}"

    return register


def dns_failure(ctx: Ctx) -> str:
    return "http://feed.newswatch-fault.invalid/feed.xml"


def refused(ctx: Ctx) -> str:
    return f"http://127.0.0.1:{ctx.unused_port}/feed.xml"


def silent_listener(ctx: Ctx) -> str:
    """A socket that listens and never accepts: the kernel completes the TCP handshake, then
    nothing is ever read or written."""
    listener = ctx.resources.enter_context(socket.socket())
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    return f"http://127.0.0.1:{listener.getsockname()[1]}/feed.xml"


def retry_after_date(path: str, status: int, hours: int) -> Callable[[Ctx], str]:
    """A ``status`` with ``Retry-After`` as the HTTP date ``hours`` after the monitors' now."""

    def register(ctx: Ctx) -> str:
        when = email.utils.format_datetime(ctx.clock.now + timedelta(hours=hours), usegmt=True)
        return ctx.server.route(path, status=status, headers={"Retry-After": when})

    return register


# -- row checks ------------------------------------------------------------------------------


def feed_stored(run: Run) -> None:
    assert sorted(a.title for a in run.articles()) == sorted(t for _, t, _, _ in ITEMS)


def final_hop_fetched(hops: int) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        feed_stored(run)
        paths = [r.path for r in run.ctx.server.requests if r.path.startswith("/hop")]
        assert paths == [f"/hop{n}" for n in range(hops + 1)]

    return check


def permanent_move_adopted(run: Run) -> None:
    """Two passes through 301/308 hops only: the feed now lives at the final URL."""
    feed_stored(run)
    first, second = run.history
    assert first.url == run.url  # one sighting does not move a feed
    assert second.url == f"{run.ctx.server.url}/hop2"
    assert second.declared_url == run.url


def temporary_move_not_adopted(run: Run) -> None:
    feed_stored(run)
    assert all(feed.url == run.url for feed in run.history)


def no_request_beyond_the_limit(run: Run) -> None:
    # Six hops were offered: newswatch stops after the sixth redirect, before the feed.
    assert not run.ctx.server.requests_to("/hop6")


def no_conditional_headers(run: Run) -> None:
    """Without validators there is nothing to be conditional on: nothing is invented."""
    feed_stored(run)
    requests = [r for r in run.ctx.server.requests if r.path == "/no-validators.xml"]
    assert len(requests) == 2
    for request in requests:
        assert request.header("if-none-match") is None
        assert request.header("if-modified-since") is None
    faulty = [r for r in run.summaries[1].results if r.url == run.url]
    assert [(r.outcome, r.new_articles, r.error) for r in faulty] == [("not_modified", 0, None)]


def unchanged_body_not_parsed_again(run: Run) -> None:
    feed_stored(run)
    faulty = [r for r in run.summaries[1].results if r.url == run.url]
    assert [(r.outcome, r.new_articles, r.updated_articles) for r in faulty] == [
        ("unchanged", 0, 0)
    ]
    assert run.summaries[1].new_articles == 0


def nothing_stored_and_not_healthy(run: Run) -> None:
    assert run.articles() == []
    assert run.feed.last_success_at is None


def failing_after_three_with_growing_backoff(run: Run) -> None:
    statuses = [feed.status for feed in run.history]
    assert statuses == [FeedStatus.NEW, FeedStatus.NEW, FeedStatus.FAILING]
    assert [feed.consecutive_failures for feed in run.history] == [1, 2, 3]
    gaps = [gap(feed) for feed in run.history]
    assert gaps[0] < gaps[1] < gaps[2], gaps
    # Exponential from the 30-minute interval, give or take the 10 % jitter.
    for n, waited in enumerate(gaps):
        expected = timedelta(minutes=30) * 2**n
        assert expected * 0.9 <= waited <= expected * 1.1, (n, waited)


def next_fetch_after(delay: timedelta) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        assert gap(run.feed) == delay
        next_fetch = run.feed.next_fetch_at
        assert next_fetch is not None
        # Passes of due feeds leave it alone until then, and take it up again at that time.
        storage = run.monitor.storage
        assert run.url not in [f.url for f in storage.due_feeds(next_fetch - timedelta(seconds=1))]
        assert run.url in [f.url for f in storage.due_feeds(next_fetch)]

    return check


def disabled_for_good(run: Run) -> None:
    assert run.feed.next_fetch_at is None
    due = run.monitor.storage.due_feeds(run.ctx.clock.now + timedelta(days=365), everything=True)
    assert run.url not in [feed.url for feed in due]


def recovered(run: Run) -> None:
    feed_stored(run)
    assert [feed.consecutive_failures for feed in run.history] == [1, 0]
    assert run.history[0].last_error == "HTTP 503 Service Unavailable"


# -- the table -------------------------------------------------------------------------------

TIMED_OUT = "timed out: no complete response within 2s"

ROWS: dict[str, Fault] = {
    "dns-failure": Fault(
        dns_failure,
        FeedStatus.NEW,
        error="DNS lookup failed for feed.newswatch-fault.invalid",
        articles=0,
        within=5,
    ),
    "connection-refused": Fault(
        refused, FeedStatus.NEW, error="connection refused by 127.0.0.1", articles=0, within=5
    ),
    "reset-mid-body": Fault(
        serve("/reset.xml", body=FEED, headers=RSS, reset_after=200),
        FeedStatus.NEW,
        error="connection to 127.0.0.1 broke",
        articles=0,
        within=5,
        check=nothing_stored_and_not_healthy,
    ),
    "reset-before-response": Fault(
        serve("/abort.xml", abort=True),
        FeedStatus.NEW,
        error="connection to 127.0.0.1 broke",
        articles=0,
        within=5,
    ),
    "slow-drip": Fault(
        serve("/drip.xml", body=FEED, headers=RSS, drip=1.0),
        FeedStatus.NEW,
        error=TIMED_OUT,
        articles=0,
        fetch=QUICK,
        within=4,
    ),
    "stalled-server": Fault(
        serve("/stalled.xml", body=FEED, headers=RSS, delay=30),
        FeedStatus.NEW,
        error=TIMED_OUT,
        articles=0,
        fetch=QUICK,
        within=4,
    ),
    "stalled-listener": Fault(
        silent_listener,
        FeedStatus.NEW,
        error=TIMED_OUT,
        articles=0,
        fetch=QUICK,
        within=4,
    ),
    "redirect-chain-301-302-307-308": Fault(
        chain(301, 302, 307, 308), FeedStatus.OK, articles=2, check=final_hop_fetched(4)
    ),
    "redirect-chain-of-5": Fault(
        chain(302, 302, 302, 302, 302), FeedStatus.OK, articles=2, check=final_hop_fetched(5)
    ),
    "redirect-chain-of-6": Fault(
        chain(302, 302, 302, 302, 302, 302),
        FeedStatus.NEW,
        error="more than 5 redirects",
        articles=0,
        check=no_request_beyond_the_limit,
    ),
    "redirect-permanent-adopted": Fault(
        chain(301, 308), FeedStatus.OK, articles=2, passes=2, check=permanent_move_adopted
    ),
    "redirect-temporary-not-adopted": Fault(
        chain(301, 307), FeedStatus.OK, articles=2, passes=2, check=temporary_move_not_adopted
    ),
    "redirect-loop": Fault(
        loop("/loop-a", "/loop-b", "/loop-c"),
        FeedStatus.NEW,
        error="redirect loop at",
        articles=0,
    ),
    "redirect-self-loop": Fault(
        loop("/self"), FeedStatus.NEW, error="redirect loop at", articles=0
    ),
    "304-without-validators": Fault(
        serve_sequence("/no-validators.xml", Route(body=FEED, headers=RSS), Route(status=304)),
        FeedStatus.OK,
        articles=2,
        passes=2,
        check=no_conditional_headers,
    ),
    "304-on-first-fetch": Fault(
        serve("/never-sent.xml", status=304),
        FeedStatus.NEW,
        error="304",
        articles=0,
        check=nothing_stored_and_not_healthy,
    ),
    "200-unchanged-body": Fault(
        serve("/same.xml", body=FEED, headers=RSS),
        FeedStatus.OK,
        articles=2,
        passes=2,
        check=unchanged_body_not_parsed_again,
    ),
    "401": Fault(
        serve("/401.xml", status=401),
        FeedStatus.FAILING,
        error="HTTP 401 Unauthorized",
        articles=0,
        passes=3,
        check=failing_after_three_with_growing_backoff,
    ),
    "403": Fault(
        serve("/403.xml", status=403),
        FeedStatus.FAILING,
        error="HTTP 403 Forbidden",
        articles=0,
        passes=3,
        check=failing_after_three_with_growing_backoff,
    ),
    "404": Fault(
        serve("/404.xml", status=404),
        FeedStatus.FAILING,
        error="HTTP 404 Not Found",
        articles=0,
        passes=3,
        check=failing_after_three_with_growing_backoff,
    ),
    "410-disables": Fault(
        serve("/410.xml", status=410),
        FeedStatus.DISABLED,
        error="HTTP 410 Gone",
        articles=0,
        check=disabled_for_good,
    ),
    "429-retry-after-seconds": Fault(
        serve("/429s.xml", status=429, headers={"Retry-After": "7200"}),
        FeedStatus.NEW,
        error="HTTP 429 Too Many Requests",
        articles=0,
        check=next_fetch_after(timedelta(hours=2)),
    ),
    "429-retry-after-date": Fault(
        retry_after_date("/429d.xml", 429, hours=3),
        FeedStatus.NEW,
        error="HTTP 429 Too Many Requests",
        articles=0,
        check=next_fetch_after(timedelta(hours=3)),
    ),
    "503-retry-after-date": Fault(
        retry_after_date("/503d.xml", 503, hours=5),
        FeedStatus.NEW,
        error="HTTP 503 Service Unavailable",
        articles=0,
        check=next_fetch_after(timedelta(hours=5)),
    ),
    "500": Fault(
        serve("/500.xml", status=500),
        FeedStatus.FAILING,
        error="HTTP 500 Internal Server Error",
        articles=0,
        passes=3,
        check=failing_after_three_with_growing_backoff,
    ),
    "503": Fault(
        serve("/503.xml", status=503),
        FeedStatus.FAILING,
        error="HTTP 503 Service Unavailable",
        articles=0,
        passes=3,
        check=failing_after_three_with_growing_backoff,
        postgres=True,
    ),
    "503-then-recovers": Fault(
        serve_sequence("/flaky.xml", Route(status=503), Route(body=FEED, headers=RSS)),
        FeedStatus.OK,
        articles=2,
        passes=2,
        check=recovered,
    ),
}


@pytest.mark.parametrize(("row", "kind"), table(ROWS))
def test_network_fault(row: Fault, kind: str, request: pytest.FixtureRequest) -> None:
    run_and_check(row, kind, request)

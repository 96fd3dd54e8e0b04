"""The fault matrix's shared machinery: one row type, one runner, the healthy neighbour feed.

Every row of ``tests/faults`` serves one misbehaving feed from the local ``FeedServer`` beside a
healthy one, runs real ``Monitor`` passes over both, and checks what a person would see: the
faulty feed's status, ``last_error`` and ``last_problem`` (as ``feeds list --json`` prints them),
how many articles it stored, and that the healthy feed was fetched and stored in the same pass.
"""

from __future__ import annotations

import contextlib
import json
import math
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from builders import Clock, rss_document
from feedserver import FeedServer
from newswatch.app import Monitor
from newswatch.ingest import FetchSummary
from newswatch.model import Article, Feed, FeedStatus
from newswatch.reporting import feed_json

#: Content type of the RSS the rows serve (no charset: the document's own declaration rules).
RSS = {"Content-Type": "application/rss+xml"}
#: The healthy neighbour served in every row; its two articles must be stored every time.
HEALTHY_ITEMS = [
    ("healthy-1", "Healthy neighbour: first story", "https://healthy.example/1", "One."),
    ("healthy-2", "Healthy neighbour: second story", "https://healthy.example/2", "Two."),
]
#: Marks "any value" for an expectation the row does not pin down.
ANY: Any = object()


@dataclass(frozen=True)
class Ctx:
    """What a row's ``serve`` function gets: the server, the monitors' clock, a dead port."""

    server: FeedServer
    clock: Clock
    unused_port: int
    tmp_path: Path
    #: Closes what a row opened (sockets, files) when the row is done.
    resources: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)


@dataclass
class Run:
    """What the passes over one row showed."""

    monitor: Monitor
    url: str  # the faulty feed's declared URL
    ctx: Ctx
    summaries: list[FetchSummary] = field(default_factory=list)
    history: list[Feed] = field(default_factory=list)  # the faulty feed after each pass
    # Seconds each pass took: wall-clock time, or CPU time for an isolated row.
    durations: list[float] = field(default_factory=list)
    rss_growth_mb: float = 0.0  # growth of the process's peak RSS over all passes

    @property
    def feed(self) -> Feed:
        """The faulty feed after the last pass."""
        return self.history[-1]

    def articles(self) -> list[Article]:
        """The faulty feed's stored articles, in id order."""
        return [a for a in stored_articles(self.monitor) if a.feed_id == self.feed.id]


@dataclass(frozen=True)
class Fault:
    """One row: how the server misbehaves, and what the user must see afterwards.

    Attributes:
        serve: registers the misbehaving route(s) and returns the faulty feed's URL.
        status: the faulty feed's status after the last pass.
        error: a substring of its ``last_error``; ``None``: there must be no error.
        problem: a substring of its ``last_problem``; ``None``: there must be none; ``ANY``.
        articles: how many articles it has stored after the last pass (``ANY``: not checked).
        passes: how many passes to run (the clock moves an hour between them).
        fetch: ``fetch:`` settings for the row (timeouts, ``max_bytes``).
        within: the longest a single pass may take, in seconds (of CPU time when isolated).
        max_rss_growth_mb: a bound on the growth of peak memory over the passes.
        check: row-specific assertions on the run.
        postgres: also run the row on PostgreSQL (where storage behaviour matters).
        isolated: run each pass in a child process stopped after ``within`` seconds of CPU
            time, for rows that could otherwise hold the test run for hours; the feed state
            is checked in the database as usual.
    """

    serve: Callable[[Ctx], str]
    status: FeedStatus
    error: str | None = None
    problem: Any = None
    articles: Any = ANY
    passes: int = 1
    fetch: dict[str, Any] = field(default_factory=dict)
    within: float = 10.0
    max_rss_growth_mb: float | None = None
    check: Callable[[Run], None] | None = None
    postgres: bool = False
    isolated: bool = False


def table(rows: dict[str, Fault]) -> list[Any]:
    """The rows as pytest params: each on SQLite, storage rows on PostgreSQL as well."""
    params = []
    for name, row in rows.items():
        params.append(pytest.param(row, "sqlite", id=name))
        if row.postgres:
            params.append(
                pytest.param(row, "postgresql", id=f"{name}-postgresql", marks=pytest.mark.postgres)
            )
    return params


def run_and_check(row: Fault, kind: str, request: pytest.FixtureRequest) -> Run:
    """Run one row on a database of ``kind`` with the shared fixtures, then check it."""
    fixture = request.getfixturevalue
    tmp_path: Path = fixture("tmp_path")
    if kind == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'faults.db'}"
    else:  # PostgreSQL rows skip where there is no server
        database_url = fixture("postgres_url")
    ctx = Ctx(fixture("feed_server"), fixture("clock"), fixture("unused_port"), tmp_path)
    with ctx.resources:
        run = run_row(row, ctx, fixture("build"), database_url)
        check_row(row, run)
    return run


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_row(row: Fault, ctx: Ctx, build: Callable[..., Monitor], database_url: str) -> Run:
    """Serve the row's faulty feed beside a healthy one and run the row's passes."""
    healthy = ctx.server.route("/healthy.xml", body=rss_document(HEALTHY_ITEMS), headers=RSS)
    url = row.serve(ctx)
    feeds = [{"url": healthy, "name": "healthy"}, {"url": url, "name": "faulty"}]
    monitor = build(database_url, feeds, **row.fetch)
    run = Run(monitor, url, ctx)
    peak = _peak_rss_mb()
    for _ in range(row.passes):
        started = time.monotonic()
        if row.isolated:
            settings = {"timeout": "3s", "default_interval": "30m", **row.fetch}
            config = {"database": {"url": database_url}, "fetch": settings, "feeds": feeds}
            summary, cpu = fetch_in_child(config, ctx, limit=row.within)
            run.durations.append(cpu)
        else:
            summary = monitor.fetch(everything=True)
            run.durations.append(time.monotonic() - started)
        run.summaries.append(summary)
        # The pass went through both feeds, whatever the faulty one did.
        assert summary.feeds == 2, summary
        feeds = {feed.declared_url: feed for feed in monitor.storage.list_feeds()}
        neighbour = feeds[healthy]
        assert (neighbour.status, neighbour.last_error, neighbour.articles) == (
            FeedStatus.OK,
            None,
            len(HEALTHY_ITEMS),
        ), feed_json(neighbour)
        run.history.append(feeds[url])
        ctx.clock.advance(hours=1)
    run.rss_growth_mb = _peak_rss_mb() - peak
    return run


_CHILD_PASS = """
import json, resource, sys
from datetime import datetime
limit = int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_CPU, (limit, limit + 5))  # SIGXCPU after `limit` CPU seconds
from newswatch.app import make_monitor
from newswatch.config import load_config
now = datetime.fromisoformat(sys.argv[2])
with make_monitor(load_config(sys.argv[1], environ={}), clock=lambda: now) as monitor:
    summary = monitor.fetch(everything=True)
fields = ("feeds", "fetched", "not_modified", "failed", "new_articles", "updated_articles")
counts = {name: getattr(summary, name) for name in fields}
used = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"counts": counts, "cpu": used.ru_utime + used.ru_stime}))
"""


def fetch_in_child(config: dict[str, Any], ctx: Ctx, *, limit: float) -> tuple[FetchSummary, float]:
    """One ``Monitor.fetch(everything=True)`` in a child process limited to ``limit`` CPU seconds.

    A CPU-time limit rather than a wall-clock one: the verdict does not depend on how busy the
    machine is. Returns the pass's counts and the CPU seconds it used.
    """
    path = ctx.tmp_path / "isolated.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    seconds = str(math.ceil(limit))
    command = [sys.executable, "-c", _CHILD_PASS, str(path), ctx.clock.now.isoformat(), seconds]
    try:
        # The wall-clock limit is only a safety net for a child that waits instead of working.
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=limit * 4, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the pass did not finish within {limit * 4:g}s of wall-clock time")
    if done.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        pytest.fail(f"the pass used more than {limit:g}s of CPU time (the child was stopped)")
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return FetchSummary(elapsed=0.0, results=(), **report["counts"]), report["cpu"]


def check_row(row: Fault, run: Run) -> None:
    """The row's expected user-visible outcome."""
    shown = feed_json(run.feed)  # exactly what `newswatch feeds list --json` prints
    assert shown["status"] == row.status.value, shown
    if row.error is None:
        assert shown["last_error"] is None, shown
    else:
        assert shown["last_error"] is not None, shown
        assert row.error in shown["last_error"], shown
    if row.problem is None:
        assert shown["last_problem"] is None, shown
    elif row.problem is not ANY:
        assert shown["last_problem"] is not None, shown
        assert row.problem in shown["last_problem"], shown
    if row.articles is not ANY:
        assert shown["articles"] == row.articles, shown
    slowest = max(run.durations)
    assert slowest < row.within, f"a pass took {slowest:.1f}s (limit {row.within:g}s)"
    if row.max_rss_growth_mb is not None:
        assert run.rss_growth_mb < row.max_rss_growth_mb, (
            f"peak RSS grew {run.rss_growth_mb:.0f} MB"
        )
    if row.check is not None:
        row.check(run)


def stored_articles(monitor: Monitor) -> list[Article]:
    """Every stored article, through the public ``get_article`` (ids grow from 1)."""
    found: list[Article] = []
    total = monitor.storage.count_articles()
    article_id = 0
    misses = 0
    while len(found) < total and misses < 1000:
        article_id += 1
        article = monitor.storage.get_article(article_id)
        if article is None:
            misses += 1
        elif article.id is not None:
            found.append(article)
    return found


def gap(feed: Feed) -> timedelta:
    """How long after its last fetch the feed is next due."""
    assert feed.next_fetch_at is not None
    assert feed.last_fetched_at is not None
    return feed.next_fetch_at - feed.last_fetched_at

"""Digest and status benchmark: building a digest and ``newswatch status`` on a million articles.

Run from the repository root::

    .venv/bin/python bench/digest_status.py [--articles N] [--runs R] [--database PATH]
                                            [--reuse] [--postgres URL] [--no-sqlite]

What is stored: the articles of ``bench/search.py`` (its ``fill``: same texts, same topic
matches, one article in ten matching one or two of the six default topics), 1,000,000 by
default, in 1,000 feeds, ingested evenly over the 60 days before ``NOW`` (about 16,700 a day,
so about 1,700 matching ones); every three consecutive articles (three outlets) are one story.
Around them, what a database that has been running for two months holds: 99 feeds working and
one in a hundred failing; a ``daily`` digest sent every morning at 07:00 Kyiv time for 59 days,
each with a ledger item for every matching article of its day and a Markdown delivery done;
a running daemon's heartbeat. So the digest owed at ``NOW`` holds the ~1,700 matching articles
of the last day, and the seven-day look-back before the last digest finds them all taken.

What is measured, each ``--runs`` times (5) after one warm-up, median and range of the wall
time and median CPU time of this process, through
newswatch's own objects with the clock at ``NOW`` and the channel of the bundled config:

- the digest: ``DigestRunner.preview`` (what ``newswatch digest preview`` and the daemon's
  scheduled build compose and render), ``DigestRunner.build`` (the same, recorded in the
  ledger; the digest is deleted again after each run, untimed), and each storage query the
  composition makes (``last_digest``, ``digest_candidates``, ``story_members``,
  ``feed_states``, ``feed_activity``, ``topic_trends``) and the composing and rendering in
  Python; then the SHA-256 of the rendered bodies and of the ledger items, to compare trees;
- the status: ``Monitor.status`` and its queries (``list_feeds``, ``topic_counts``,
  ``count_articles``, ``last_digest``, ``daemons``), and ``newswatch status`` itself in this
  process (config loading, opening and syncing the database, the report, the output; not the
  interpreter's start and imports).

With ``--postgres URL`` (a database newswatch may migrate) the same on PostgreSQL.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from click.testing import CliRunner  # noqa: E402
from search import database_size, fill  # noqa: E402
from sqlalchemy import text  # noqa: E402

from newswatch import __version__  # noqa: E402
from newswatch.app import Monitor  # noqa: E402
from newswatch.cli import cli  # noqa: E402
from newswatch.config import Config, load_config  # noqa: E402
from newswatch.digest.compose import TREND_DAYS, compose  # noqa: E402
from newswatch.digest.runner import LOOKBACK  # noqa: E402
from newswatch.model import DaemonInfo, DigestBody, DigestItem  # noqa: E402
from newswatch.storage import Storage, open_storage  # noqa: E402

FEEDS = 1_000
DAYS = 60
STORY_SIZE = 3
CHANNEL = "daily"
#: 07:00 in Kyiv (UTC+2 in winter): the bundled daily digest's slot, and the end of the data.
NOW = datetime(2026, 1, 25, 5, tzinfo=UTC)
START = NOW - timedelta(days=DAYS)


def prepare(storage: Storage, count: int, seed: int) -> None:
    """Fill the database: articles, then feed state, the digest ledger and a heartbeat."""
    fill(
        storage,
        count,
        seed,
        feeds=FEEDS,
        start=START,
        span=timedelta(days=DAYS),
        story_size=STORY_SIZE,
    )
    engine = storage._engine
    postgres = storage.dialect == "postgresql"

    def stamp(when: datetime) -> datetime:
        # As ``fill`` binds them: SQLite stores naive UTC.
        return when if postgres else when.replace(tzinfo=None)

    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE feeds SET status = 'ok', last_fetched_at = :now, "
                "last_success_at = :now, next_fetch_at = :next"
            ),
            {"now": stamp(NOW - timedelta(minutes=10)), "next": stamp(NOW + timedelta(minutes=20))},
        )
        connection.execute(
            text(
                "UPDATE feeds SET status = 'failing', consecutive_failures = 4, "
                "last_error = 'HTTP 503 Service Unavailable', last_error_at = :now "
                "WHERE id % 100 = 0"
            ),
            {"now": stamp(NOW - timedelta(minutes=10))},
        )
    previous: datetime | None = None
    for day in range(1, DAYS):
        end = START + timedelta(days=day)
        with engine.begin() as connection:
            digest_id = connection.execute(
                text(
                    "INSERT INTO digests (channel, period_start, period_end, status, message_id, "
                    "created_at, completed_at, article_count, story_count) VALUES (:channel, "
                    ":start, :end, 'sent', :message_id, :end, :end, 0, 0) RETURNING id"
                ),
                {
                    "channel": CHANNEL,
                    "start": stamp(previous) if previous else None,
                    "end": stamp(end),
                    "message_id": f"<digest-{day}@bench.example>",
                },
            ).scalar_one()
            items = connection.execute(
                text(
                    "INSERT INTO digest_items (digest_id, channel, article_id, topic_slug, rank) "
                    "SELECT :digest, :channel, a.id, (SELECT min(t.slug) FROM article_topics m "
                    "JOIN topics t ON t.id = m.topic_id WHERE m.article_id = a.id), a.id "
                    "FROM articles a WHERE a.ingested_at > :start AND a.ingested_at <= :end "
                    "AND EXISTS (SELECT 1 FROM article_topics m WHERE m.article_id = a.id)"
                ),
                {
                    "digest": digest_id,
                    "channel": CHANNEL,
                    "start": stamp(previous or START - timedelta(days=1)),
                    "end": stamp(end),
                },
            ).rowcount
            connection.execute(
                text("UPDATE digests SET article_count = :n, story_count = :n WHERE id = :digest"),
                {"n": items, "digest": digest_id},
            )
            connection.execute(
                text(
                    "INSERT INTO deliveries (digest_id, kind, target, status, attempts, "
                    "delivered_at) VALUES (:digest, 'markdown', :target, 'done', 1, :end)"
                ),
                {
                    "digest": digest_id,
                    "target": f"/srv/digests/{CHANNEL}/{end:%Y-%m-%d}.md",
                    "end": stamp(end),
                },
            )
        previous = end
    storage.register_daemon(
        DaemonInfo(
            id="bench-daemon",
            hostname="bench",
            pid=1,
            version=__version__,
            started_at=START,
            heartbeat_at=NOW - timedelta(seconds=10),
        )
    )
    storage.optimize()


def write_config(folder: Path, url: str) -> Config:
    """The bundled config's digest channel and topics, over this database and its 1,000 feeds."""
    data = {
        "database": {"url": url},
        "feeds": [
            {"url": f"https://feed{i}.example/rss", "name": f"Outlet {i}"} for i in range(FEEDS)
        ],
        "topics_file": str(ROOT / "config" / "topics.yaml"),
        "digests": {
            CHANNEL: {
                "schedule": "0 7 * * *",
                "timezone": "Europe/Kyiv",
                "topics": "all",
                "markdown": {"dir": str(folder / "digests")},
            }
        },
    }
    path = folder / "newswatch.yaml"
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")  # JSON is YAML
    return load_config(path, environ={})


def timed(
    func: Callable[[], Any], runs: int, after: Callable[[Any], None] | None = None
) -> tuple[float, float, float, float, Any]:
    """Median, lowest and highest wall time of ``runs`` calls after a warm-up, the median CPU
    time of this process (less disturbed by other processes on a shared machine), and the last
    result. ``after`` is called with each result, untimed (to undo what the call recorded).
    """
    times = []
    cpu = []
    result = None
    for run in range(runs + 1):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = func()
        elapsed, elapsed_cpu = time.perf_counter() - started, time.process_time() - started_cpu
        if after is not None:
            after(result)
        if run:
            times.append(elapsed)
            cpu.append(elapsed_cpu)
    return statistics.median(times), min(times), max(times), statistics.median(cpu), result


def size_of(result: Any) -> str:
    if isinstance(result, list | tuple):
        return f"{len(result):,}"
    if isinstance(result, int):
        return f"{result:,}"
    return ""


def measure(storage: Storage, config: Config, runs: int) -> None:
    monitor = Monitor(config, storage, clock=lambda: NOW)
    monitor.sync_config()  # the first run aligns the topics with the config; later ones no-op
    runner = monitor.digests
    last = storage.last_digest(CHANNEL)
    assert last is not None, "no digest in the ledger: was the database filled by this script?"
    slugs = [t.slug for t in config.topics]
    candidates = storage.digest_candidates(
        CHANNEL, since=last.period_end - LOOKBACK, until=NOW, topics=slugs
    )
    story_ids = [c.article.story_id for c in candidates if c.article.story_id is not None]
    members = storage.story_members(story_ids)
    feeds = storage.feed_states()
    activity = storage.feed_activity(NOW - timedelta(days=30))
    trends = storage.topic_trends(NOW, TREND_DAYS + 1)

    def composed() -> Any:
        return compose(
            channel=CHANNEL,
            config_name=config.path.name,
            timezone="Europe/Kyiv",
            topics=[(t.slug, t.name) for t in config.topics],
            candidates=candidates,
            members=members,
            feeds=feeds,
            activity=activity,
            trends=trends,
            period_start=last.period_end,
            period_end=NOW,
            max_per_topic=None,
            version=__version__,
        )

    view = composed().view
    renderer = runner._renderer(config.digests[CHANNEL])

    def undo_build(result: Any) -> None:
        digest, _built = result
        with storage._engine.begin() as connection:
            connection.execute(text("DELETE FROM digests WHERE id = :id"), {"id": digest.id})

    def status_command() -> str:
        outcome = CliRunner().invoke(cli, ["--config", str(config.path), "status"])
        if outcome.exit_code:
            raise RuntimeError(f"newswatch status failed: {outcome.output}{outcome.exception}")
        return outcome.output

    steps: list[tuple[str, Callable[[], Any], Callable[[Any], None] | None]] = [
        ("digest preview", lambda: runner.preview(CHANNEL), None),
        ("digest build (recorded)", lambda: runner.build(CHANNEL, NOW), undo_build),
        ("  last_digest", lambda: storage.last_digest(CHANNEL, items=False), None),
        (
            "  digest_candidates",
            lambda: storage.digest_candidates(
                CHANNEL, since=last.period_end - LOOKBACK, until=NOW, topics=slugs
            ),
            None,
        ),
        ("  story_members", lambda: storage.story_members(story_ids), None),
        ("  feed_states", storage.feed_states, None),
        ("  feed_activity", lambda: storage.feed_activity(NOW - timedelta(days=30)), None),
        ("  topic_trends", lambda: storage.topic_trends(NOW, TREND_DAYS + 1), None),
        ("  compose (Python)", lambda: composed().items, None),
        ("  render (Python)", lambda: renderer.body(view, "{digest} digest {date}"), None),
        ("Monitor.status", monitor.status, None),
        ("  list_feeds", storage.list_feeds, None),
        ("  topic_counts", lambda: storage.topic_counts(NOW), None),
        ("  count_articles", storage.count_articles, None),
        ("  last_digest", lambda: storage.last_digest(CHANNEL, items=False), None),
        ("  daemons", lambda: storage.daemons(NOW - timedelta(days=1)), None),
        ("newswatch status (CLI)", status_command, None),
    ]
    print(
        f"{storage.dialect}: {storage.count_articles():,} articles, {len(feeds):,} feeds, "
        f"{len(candidates):,} digest candidates in {len(set(story_ids)):,} stories"
    )
    print(f"  {'step':<26} {'median':>9} {'range':>19} {'CPU':>9} {'rows':>9}")
    for name, func, after in steps:
        median, low, high, cpu, result = timed(func, runs, after)
        print(
            f"  {name:<26} {median * 1000:>7.1f}ms {low * 1000:>8.1f}-{high * 1000:>7.1f}ms "
            f"{cpu * 1000:>7.1f}ms {size_of(result):>9}"
        )
    print_digest(runner.preview(CHANNEL).body, composed().items)


def print_digest(body: DigestBody, items: Sequence[DigestItem]) -> None:
    """What the digest holds, as hashes: two trees that build the same digest print the same."""

    def digest(value: str) -> str:
        return hashlib.sha256(value.encode()).hexdigest()[:16]

    ledger = "\n".join(f"{i.rank} {i.article_id} {i.topic_slug}" for i in items)
    print(
        f"  sha256: markdown {digest(body.markdown)}, text {digest(body.text)}, "
        f"html {digest(body.html)}, subject {digest(body.subject)}, "
        f"ledger items {digest(ledger)} ({len(items):,})"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000, help="articles (1,000,000)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per step (5)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (1)")
    parser.add_argument(
        "--database",
        type=Path,
        default=Path("/tmp/newswatch-digest-bench.db"),
        help="SQLite file (replaced unless --reuse)",
    )
    parser.add_argument("--reuse", action="store_true", help="keep a database filled before")
    parser.add_argument("--postgres", help="also measure on this PostgreSQL database URL")
    parser.add_argument(
        "--no-sqlite", dest="sqlite", action="store_false", help="measure PostgreSQL only"
    )
    return parser.parse_args(argv)


def sqlite_storage(args: argparse.Namespace) -> Iterator[tuple[Storage, str]]:
    path = args.database.resolve()
    fresh = not (args.reuse and path.exists())
    if fresh:
        for old in path.parent.glob(path.name + "*"):
            old.unlink()
    url = f"sqlite:///{path}"
    storage = open_storage(url)
    if fresh:
        started = time.perf_counter()
        prepare(storage, args.articles, args.seed)
        print(f"filled SQLite in {time.perf_counter() - started:.0f}s, {database_size(path)}")
    else:
        storage.optimize()  # a database filled before a new migration: fresh statistics
    yield storage, url
    storage.close()


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    print(f"SQLite {__import__('sqlite3').sqlite_version}, Python {sys.version.split()[0]}")
    folder = Path(tempfile.mkdtemp(prefix="newswatch-digest-bench."))
    try:
        if args.sqlite:
            for storage, url in sqlite_storage(args):
                measure(storage, write_config(folder, url), args.runs)
        if args.postgres:
            storage = open_storage(args.postgres)
            if not (args.reuse and storage.count_articles()):
                started = time.perf_counter()
                prepare(storage, args.articles, args.seed)
                print(f"filled PostgreSQL in {time.perf_counter() - started:.0f}s")
            else:
                storage.optimize()
            measure(storage, write_config(folder, args.postgres), args.runs)
            storage.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

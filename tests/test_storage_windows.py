"""Digest and status queries that must not read every article: their indexes, and the rule that
tombstones keep no topic matches (``topic_counts`` counts matches without looking at articles)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from newswatch.digest.compose import _trends
from newswatch.model import Article, FeedDeclaration, TopicDefinition, TopicMatch
from newswatch.storage import Storage, migrations
from newswatch.storage.engine import make_engine

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
TOPICS = [TopicDefinition("peace-talks", "Peace talks", "", "ceasefire", 1.0)]


def _fill(storage: Storage, count: int = 30) -> list[int]:
    storage.sync_feeds(
        [FeedDeclaration(f"https://{n}.example/rss", name=f"Feed {n}") for n in range(3)], NOW
    )
    storage.sync_topics(TOPICS, NOW)
    feeds = storage.list_feeds()
    ids = []
    for n in range(count):
        article = Article(
            feed_id=feeds[n % 3].id,
            entry_key=f"entry-{n}",
            title=f"Ceasefire talks, day {n}",
            ingested_at=NOW - timedelta(hours=6 * (count - n)),
        )
        saved, _ = storage.save_article(article, NOW)
        assert saved.id is not None
        ids.append(saved.id)
    storage.save_tagging([(i, [TopicMatch(i, "peace-talks", 1.5)]) for i in ids[::2]], NOW)
    return ids


def test_tagging_an_article_pruned_meanwhile_stores_no_matches(storage: Storage) -> None:
    ids = _fill(storage, count=4)
    # The tagger read these before the prune; its results arrive after.
    assert storage.prune_articles(NOW - timedelta(hours=12), NOW) == 2
    storage.save_tagging([(i, [TopicMatch(i, "peace-talks", 2.0)]) for i in ids], NOW)

    assert storage.matches_for(ids[0]) == []
    assert storage.matches_for(ids[1]) == []
    assert [m.score for m in storage.matches_for(ids[2])] == [2.0]
    (count,) = storage.topic_counts(NOW)
    assert (count.articles, count.last_24h, count.last_7d) == (2, 2, 2)


def test_migration_0005_drops_matches_left_on_tombstones(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrations.upgrade(engine)
        storage = Storage(engine, database_url)
        ids = _fill(storage, count=4)
        migrations.downgrade(engine, "0004")
        # What a tagging run that raced a prune could leave behind before 0005.
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE articles SET removed_at = :now WHERE id = :id"),
                {
                    "now": NOW if engine.dialect.name == "postgresql" else NOW.replace(tzinfo=None),
                    "id": ids[0],
                },
            )
        migrations.upgrade(engine)
        assert storage.matches_for(ids[0]) == []
        assert [m.article_id for m in storage.matches_for(ids[2])] == [ids[2]]
    finally:
        engine.dispose()


@contextmanager
def _statements(storage: Storage) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "articles" in statement:
            seen.append((statement, parameters))

    engine = storage._engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _plans(storage: Storage, call: Callable[[], object]) -> list[str]:
    with _statements(storage) as seen:
        call()
    lines = []
    with storage._engine.connect() as connection:
        for statement, parameters in seen:
            for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters):
                lines.append(str(row[3]))
    return lines


@pytest.mark.parametrize(
    "query",
    [
        "digest_candidates",
        "topic_activity",
        "topic_trends",
        "feed_activity",
        "topic_counts",
        "list_feeds",
        "count_articles",
    ],
)
def test_window_and_count_queries_read_indexes_not_rows(tmp_path: Path, query: str) -> None:
    # Query plans are checked on SQLite, the default database (PostgreSQL's depend on its
    # statistics).
    with Storage.open(f"sqlite:///{tmp_path}/plans.db") as storage:
        _check_plan(storage, query)


def _check_plan(storage: Storage, query: str) -> None:
    _fill(storage)
    calls: dict[str, Callable[[], object]] = {
        # The first statement picks the ids; only the chosen rows are read, by id.
        "digest_candidates": lambda: storage.digest_candidates(
            "daily", since=NOW - timedelta(days=2), until=NOW
        ),
        "topic_activity": lambda: storage.topic_activity(NOW - timedelta(days=8), NOW),
        "topic_trends": lambda: storage.topic_trends(NOW, 8),
        "feed_activity": lambda: storage.feed_activity(NOW - timedelta(days=30)),
        "topic_counts": lambda: storage.topic_counts(NOW),
        "list_feeds": storage.list_feeds,
        "count_articles": storage.count_articles,
    }
    plan = _plans(storage, calls[query])
    on_articles = [line for line in plan if " articles " in f"{line} "]
    assert on_articles, plan
    for line in on_articles:
        assert "COVERING INDEX" in line or "INTEGER PRIMARY KEY" in line, plan


@pytest.mark.parametrize("shift", [timedelta(0), timedelta(hours=3, microseconds=1)])
def test_topic_trends_count_the_windows_compose_would(storage: Storage, shift: timedelta) -> None:
    # Articles every 6 hours: some lie exactly on a window's edge (an edge belongs to the
    # older window's end, as in compose), some beyond the trend's 8 days.
    _fill(storage, count=40)
    end = NOW - shift
    expected = _trends(storage.topic_activity(end - timedelta(days=8), end), end)

    assert storage.topic_trends(end, 8) == expected
    if not shift:  # matches 12, 24, … 180 hours old; 24 h old is the second window's
        assert expected == {"peace-talks": (2, 2, 2, 2, 2, 2, 2, 1)}


def test_feed_states_are_the_listed_feeds_without_counts(storage: Storage) -> None:
    _fill(storage, count=6)
    storage.sync_feeds([FeedDeclaration("https://0.example/rss", name="Feed 0")], NOW)

    listed = storage.list_feeds()
    assert [f.articles for f in listed] == [2]
    assert storage.feed_states() == [replace(f, articles=0) for f in listed]

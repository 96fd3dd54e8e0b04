"""Entries a feed sends again exactly as before are not normalised or tagged again.

Most fetches of a busy feed bring a document that differs from the last one only by a
few entries (or only by its ``lastBuildDate``); each entry is known by a hash of what
normalisation reads of it (``articles.source_hash``), and only new and changed entries are
made into articles. What is stored must be exactly what normalising everything would store.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

import newswatch.normalize
from builders import Clock, rss_document
from feedserver import FeedServer, Route
from newswatch.app import Monitor
from newswatch.storage import open_storage
from newswatch.storage.engine import make_engine

Item = tuple[str, str, str, str]


def _items(count: int, *, edited: int | None = None) -> list[Item]:
    items = [
        (
            f"g{n}",
            f"Envoys meet for round {n} of the talks",
            f"https://news.example/{n}",
            f"<p>Round {n}: delegations met in Geneva and agreed to meet again.</p>",
        )
        for n in range(count)
    ]
    if edited is not None:
        guid, title, link, _ = items[edited]
        items[edited] = (guid, title, link, "<p>Corrected: the delegations did not agree.</p>")
    return items


@pytest.fixture
def normalised(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The GUIDs of the entries normalised, in order (the real function still runs)."""
    seen: list[str] = []
    real = newswatch.normalize.normalize_entry

    def counting(entry: Any, **options: Any) -> Any:
        seen.append(entry.guid)
        return real(entry, **options)

    monkeypatch.setattr(newswatch.normalize, "normalize_entry", counting)
    return seen


@pytest.fixture
def monitor_of(
    feed_server: FeedServer, build: Callable[..., Monitor], database_url: str
) -> Callable[..., Monitor]:
    """A monitor of one feed that answers with these routes in turn (the last one repeats)."""

    def make(*routes: Route, path: str = "/feed.xml") -> Monitor:
        url = feed_server.route(path, responses=list(routes))
        return build(database_url, [{"url": url}])

    return make


def _stored(monitor: Monitor) -> dict[str, tuple[object, ...]]:
    return {
        a.entry_key: (a.id, a.title, a.content_text, a.fingerprint, a.simhash, a.source_hash)
        for a in monitor.storage.articles_to_tag(limit=1_000, everything=True)
    }


def test_only_new_and_changed_entries_are_normalised(
    monitor_of: Callable[..., Monitor],
    clock: Clock,
    normalised: list[str],
) -> None:
    monitor = monitor_of(
        Route(body=rss_document(_items(5))),
        # The same entries; only the channel changed (a new title), so the body differs.
        Route(body=rss_document(_items(5), title="Example news, updated")),
        # One entry corrected, one new one on top.
        Route(body=rss_document(_items(6, edited=2)[::-1])),
    )

    assert monitor.fetch().new_articles == 5
    assert sorted(normalised) == [f"g{n}" for n in range(5)]
    first = _stored(monitor)
    assert all(row[-1] for row in first.values())  # every article knows its source

    normalised.clear()
    clock.advance(hours=1)
    again = monitor.fetch()
    assert (again.new_articles, again.updated_articles, again.failed) == (0, 0, 0)
    assert normalised == []
    assert _stored(monitor) == first

    clock.advance(hours=1)
    third = monitor.fetch()
    assert (third.new_articles, third.updated_articles) == (1, 1)
    assert sorted(normalised) == ["g2", "g5"]
    stored = _stored(monitor)
    assert stored["guid:g2"][2] == "Corrected: the delegations did not agree."
    assert stored["guid:g2"][-1] != first["guid:g2"][-1]
    assert {k: v for k, v in stored.items() if k not in ("guid:g2", "guid:g5")} == {
        k: v for k, v in first.items() if k != "guid:g2"
    }


def test_articles_stored_before_source_hashes_get_theirs(
    monitor_of: Callable[..., Monitor],
    database_url: str,
    clock: Clock,
    normalised: list[str],
) -> None:
    monitor = monitor_of(
        Route(body=rss_document(_items(3))),
        Route(body=rss_document(_items(3), title="Second fetch")),
        Route(body=rss_document(_items(3), title="Third fetch")),
    )
    monitor.fetch()
    first = _stored(monitor)
    # As a database from before migration 0006 has them.
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE articles SET source_hash = NULL"))
    engine.dispose()

    normalised.clear()
    clock.advance(hours=1)
    second = monitor.fetch()
    assert (second.new_articles, second.updated_articles) == (0, 0)
    assert sorted(normalised) == ["g0", "g1", "g2"]  # unknown: normalised, found unchanged
    assert _stored(monitor) == first  # and their hashes written back

    normalised.clear()
    clock.advance(hours=1)
    monitor.fetch()
    assert normalised == []


def test_a_duplicate_key_keeps_its_first_entry_when_that_one_is_unchanged(
    monitor_of: Callable[..., Monitor],
    clock: Clock,
    normalised: list[str],
) -> None:
    items = _items(2)
    monitor = monitor_of(
        Route(body=rss_document(items)),
        # The first g1 is as stored; a second g1 with other text follows it. Normalising
        # everything keeps the first one, so nothing changes.
        Route(body=rss_document([*items, _items(2, edited=1)[1]], title="Again")),
    )
    monitor.fetch()
    first = _stored(monitor)

    clock.advance(hours=1)
    second = monitor.fetch()
    assert (second.new_articles, second.updated_articles) == (0, 0)
    assert _stored(monitor) == first


def test_looking_up_entries_waits_for_no_writer(tmp_path: Path) -> None:
    # Worker processes look up a document's entries while another worker stores its feed:
    # on SQLite that read must not queue for the write lock.
    url = f"sqlite:///{tmp_path}/lookup.db"
    with open_storage(url) as storage:
        writer = sqlite3.connect(tmp_path / "lookup.db", isolation_level=None, timeout=0)
        try:
            writer.execute("BEGIN IMMEDIATE")
            assert storage.known_sources(1, ["0" * 32]) == {}
        finally:
            writer.execute("ROLLBACK")
            writer.close()


# Found in review: the new-GUID rule and hashes that change while nothing stored does.

LINK = "https://news.example/talks"


def _texts(monitor: Monitor) -> dict[str, str]:
    return {
        a.entry_key: a.content_text
        for a in monitor.storage.articles_to_tag(limit=1_000, everything=True)
    }


def test_an_entry_matched_under_a_new_guid_does_not_hide_its_old_guid(
    monitor_of: Callable[..., Monitor], clock: Clock
) -> None:
    first = ("g1", "Talks resume", LINK, "First version.")
    rotated = ("g2", "Talks resume", LINK, "First version.")  # same entry, GUID changed
    corrected = ("g1", "Talks resume", LINK, "Corrected version.")
    monitor = monitor_of(
        Route(body=rss_document([first])),
        Route(body=rss_document([rotated], title="2")),
        # Both GUIDs now: g1 corrected, g2 as it was. Normalising everything updates g1
        # and stores g2 as a new article (g1 is in the document, so g2 is not g1 again).
        Route(body=rss_document([rotated, corrected], title="3")),
    )
    monitor.fetch()
    clock.advance(hours=1)
    monitor.fetch()
    clock.advance(hours=1)
    third = monitor.fetch()
    assert _texts(monitor) == {"guid:g1": "Corrected version.", "guid:g2": "First version."}
    assert (third.new_articles, third.updated_articles) == (1, 1)


def test_a_duplicate_guid_stays_a_duplicate_when_its_first_entry_is_known_under_another_key(
    monitor_of: Callable[..., Monitor], clock: Clock
) -> None:
    monitor = monitor_of(
        Route(body=rss_document([("g3", "Talks resume", LINK, "Body one.")])),
        # g1 is taken for g3 under a new GUID (g3 left the document): row guid:g3 gets
        # g1's text, and g1's source hash.
        Route(body=rss_document([("g1", "Talks resume", LINK, "Body three.")], title="2")),
        # g1 as before, then a second g1: the first one wins, nothing new is stored.
        Route(
            body=rss_document(
                [
                    ("g1", "Talks resume", LINK, "Body three."),
                    ("g1", "Talks resume, updated", LINK, "Body three."),
                ],
                title="3",
            )
        ),
    )
    monitor.fetch()
    clock.advance(hours=1)
    monitor.fetch()
    before = _texts(monitor)
    clock.advance(hours=1)
    third = monitor.fetch()
    assert third.new_articles == 0
    assert _texts(monitor) == before


def test_an_entry_changed_only_in_its_date_does_not_rewrite_its_row_on_every_fetch(
    monitor_of: Callable[..., Monitor], clock: Clock
) -> None:
    """Feeds that stamp every entry with the build time change every entry on every fetch
    in nothing that is stored: before source hashes nothing was written, and nothing may be
    now (dates are not in the hash, and a hash is only written where one is missing)."""

    def document(stamp: str) -> bytes:
        items = [
            {
                "id": f"g{n}",
                "url": f"https://news.example/{n}",
                "title": f"Story {n}",
                "content_text": "Text.",
                "date_modified": stamp,
            }
            for n in range(20)
        ]
        feed = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": items}
        return json.dumps(feed).encode()

    monitor = monitor_of(
        *[
            Route(
                body=document(f"2026-01-01T0{n}:00:00Z"),
                headers={"Content-Type": "application/feed+json"},
            )
            for n in range(3)
        ],
        path="/feed.json",
    )
    monitor.fetch()
    writes: list[int] = []

    def count(*args: Any) -> None:
        statement, parameters, executemany = args[2], args[3], args[5]
        if statement.lstrip().upper().startswith("UPDATE ARTICLES"):
            writes.append(len(parameters) if executemany else 1)

    event.listen(monitor.storage._engine, "before_cursor_execute", count)
    for _ in range(2):
        clock.advance(hours=1)
        summary = monitor.fetch()
        assert (summary.new_articles, summary.updated_articles, summary.failed) == (0, 0, 0)
    assert sum(writes) == 0

"""Retention: old articles become tombstones that never come back and appear nowhere."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from builders import Clock
from feedserver import FeedServer
from newsroom import Newsroom
from smtpserver import SmtpServer


@pytest.fixture
def room(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path, database_url: str
) -> Iterator[Newsroom]:
    newsroom = Newsroom(feed_server, smtp_server, tmp_path, database_url, Clock())
    yield newsroom
    newsroom.close()


def test_pruned_articles_are_tombstones_that_never_return(room: Newsroom) -> None:
    room.publish("wire", "bakery", suffix="-old")
    monitor = room.monitor()
    room.fetch(monitor)
    room.publish("wire", "assets")
    room.fetch(monitor)
    room.clock.advance(days=10)
    room.publish("daily", "donbas")
    room.fetch(monitor)

    now = room.clock.now
    pruned = monitor.storage.prune_articles(now - timedelta(days=5), now)
    monitor.storage.optimize(vacuum=True)
    room.clock.advance(hours=1)
    room.fetch(monitor)  # the old entries are still in the feed

    assert pruned == 2
    assert monitor.storage.count_articles() == 1
    counts = {t.slug: t.articles for t in monitor.status().topics}
    assert counts["frozen-assets"] == 0
    assert counts["donbas-territory"] == 1
    (preview,) = monitor.preview_digests()
    assert preview.view.articles == 1  # only the donbas article is still owed
    assert "frozen Russian assets" not in preview.body.text

"""The kill loop: SIGKILL the daemon at random moments, restart it, and check the books.

Feeds keep publishing between kills; digests are due every second, so kills land in fetches,
tagging, digest builds and deliveries alike. Afterwards nothing may be stored twice or missing,
the ledger must hold every matched article exactly once, every digest must be delivered, and an
email sent twice (a kill after the server accepted it, before the ledger recorded it) must be
the same message with the same Message-ID.

CI runs a few iterations; for the long run: ``NEWSWATCH_KILL_ITERATIONS=50 pytest
tests/faults/test_kill_loop.py`` (``NEWSWATCH_KILL_SEED`` picks another random sequence).
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import defaultdict
from pathlib import Path

from sqlalchemy import create_engine, text

from builders import BRIEFING_NEWS, Clock
from daemonproc import DaemonProcess
from feedserver import FeedServer
from newsroom import Newsroom
from smtpserver import SmtpServer

ITERATIONS = int(os.environ.get("NEWSWATCH_KILL_ITERATIONS", "6"))
SEED = int(os.environ.get("NEWSWATCH_KILL_SEED", "20261126"))
MATCHING = ["assets", "donbas", "relations", "nato", "guarantees"]


def test_sigkill_at_random_moments_loses_and_repeats_nothing(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    database = f"sqlite:///{tmp_path}/kill.db"
    room = Newsroom(feed_server, smtp_server, tmp_path, database, Clock())
    channel = room.channel(schedule="* * * * * *")
    config = room.write_config(
        {"daily": channel},
        daemon={"poll_interval": "0.3s", "heartbeat": "1s", "shutdown_timeout": "5s"},
    )
    text_config = config.read_text(encoding="utf-8")
    text_config = text_config.replace("default_interval: 30m", "default_interval: 0.5s")
    text_config = text_config.replace("name: Wire", "name: Wire\n  backfill: true")
    text_config = text_config.replace("name: Daily", "name: Daily\n  backfill: true")
    config.write_text(text_config, encoding="utf-8")

    published = 0
    for iteration in range(ITERATIONS):
        for _ in range(rng.randint(5, 60)):
            published += 1
            key = rng.choice(MATCHING)
            outlet = rng.choice(["wire", "daily"])
            title, body = BRIEFING_NEWS[key]
            room.items[outlet].insert(
                0,
                (
                    f"{outlet}-{published}",
                    f"{title} (update {published})",
                    f"https://{outlet}.example/{key}/{published}",
                    body,
                ),
            )
        room._serve("wire")
        room._serve("daily")
        daemon = DaemonProcess(config, tmp_path / f"daemon-{iteration}.log").start()
        try:
            daemon.wait_for_event("daemon.started")
            time.sleep(rng.uniform(0.05, 1.5))
        finally:
            daemon.kill()

    final = DaemonProcess(config, tmp_path / "daemon-final.log").start()
    try:
        final.wait_for_event("daemon.started")
        final.wait_for(
            lambda: _settled(database, published), timeout=60, message="everything stored and sent"
        )
        final.signal(signal.SIGTERM)
        assert final.wait(15) == 0
    finally:
        final.kill()

    books = _books(database)
    assert books["articles"] == books["distinct_keys"] == published  # none twice, none missing
    assert books["items"] == books["distinct_items"] == published  # each in exactly one digest
    assert books["pending_or_failed_deliveries"] == 0
    owed = {mid for mid in books["message_ids"] if mid}
    by_id: dict[str, list[str]] = defaultdict(list)
    for message in smtp_server.received:
        body = message.get_body(("plain",))
        by_id[str(message["Message-ID"])].append(str(body.get_content()) if body else "")
    assert owed <= set(by_id)  # every digest with items was emailed (at least once)
    for message_id, copies in by_id.items():
        assert message_id in owed  # nothing sent that the ledger does not know
        assert len(set(copies)) == 1  # a repeat is the same message


def _settled(url: str, published: int) -> bool:
    books = _books(url)
    return (
        books["articles"] == published
        and books["items"] == published
        and books["pending_or_failed_deliveries"] == 0
    )


def _books(url: str) -> dict[str, object]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT (SELECT count(*) FROM articles),"
                    " (SELECT count(DISTINCT entry_key) FROM articles),"
                    " (SELECT count(*) FROM digest_items),"
                    " (SELECT count(DISTINCT article_id) FROM digest_items),"
                    " (SELECT count(*) FROM deliveries WHERE status != 'done')"
                )
            ).one()
            ids = [
                r[0]
                for r in connection.execute(
                    text(
                        "SELECT d.message_id FROM digests d WHERE d.article_count > 0 AND EXISTS"
                        " (SELECT 1 FROM deliveries x WHERE x.digest_id = d.id"
                        " AND x.kind = 'email')"
                    )
                )
            ]
    except Exception:
        return {"articles": -1, "items": -1, "pending_or_failed_deliveries": -1}
    finally:
        engine.dispose()
    return {
        "articles": row[0],
        "distinct_keys": row[1],
        "items": row[2],
        "distinct_items": row[3],
        "pending_or_failed_deliveries": row[4],
        "message_ids": ids,
    }

"""Digests end to end: real feeds over HTTP, the real ledger, Markdown files and a real SMTP server.

Each test plays a newsroom: two outlets publish briefing news, newswatch fetches and tags it,
then builds and delivers digests. The assertions are what a reader and an operator see: files,
received messages (parsed with ``email``), and what the ledger says.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result

from builders import Clock
from newsroom import Newsroom, ledger_items, parts, started
from newswatch.app import Monitor, make_monitor
from newswatch.config import load_config

# -- the user's first digest ------------------------------------------------------------------


def test_markdown_and_email_digest_grouped_by_topic_with_clusters_and_evidence(
    newsroom: Newsroom,
) -> None:
    monitor = started(newsroom)
    # The same story from two outlets (a syndicated copy), and three more stories.
    newsroom.publish("wire", "guarantees")
    newsroom.publish("daily", "guarantees")
    newsroom.publish("daily", "donbas")
    newsroom.publish("wire", "assets")
    newsroom.publish("daily", "relations")
    newsroom.publish("wire", "bakery")
    newsroom.fetch(monitor)

    (run,) = monitor.send_digests()

    assert run.status == "sent"
    assert run.digest.article_count == 5  # the bakery matched no topic
    assert run.digest.story_count == 4  # the two copies are one story
    # Markdown: one file named by the channel-local date, and an index.
    local_date = newsroom.clock.now.astimezone(monitor.config.digests["daily"].zone).date()
    path = newsroom.digests_dir / "daily" / f"{local_date:%Y-%m-%d}.md"
    markdown = path.read_text(encoding="utf-8")
    assert f"]({path.name})" in (path.parent / "index.md").read_text(encoding="utf-8")
    for heading in (
        "## Security guarantees",
        "## Donbas",
        "## Frozen Russian assets",
        "## US–Ukraine relations",
    ):
        assert any(line.startswith(heading) for line in markdown.splitlines()), heading
    assert "bakery" not in markdown.lower()
    # Each story once, under its best topic, with the other outlet and the evidence.
    assert markdown.count("Allies draft NATO-style security guarantees") == 2  # top + section
    assert "Also reported by: [Wire]" in markdown or "Also reported by: [Daily]" in markdown
    assert "- Why: `" in markdown
    assert "- Also in: " in markdown  # the guarantees story also matched the peace talks
    # Email: exactly one multipart/alternative message with the ledger's Message-ID.
    (message,) = newsroom.smtp.received
    assert message.get_content_type() == "multipart/alternative"
    assert message["Message-ID"] == run.digest.message_id
    assert message["To"] == "analyst@example.org"
    assert message["Subject"] == f"newswatch daily: 5 new articles ({local_date:%Y-%m-%d})"
    bodies = parts(message)
    assert set(bodies) == {"plain", "html"}
    assert "Allies draft NATO-style security guarantees for Ukraine" in bodies["plain"]
    assert bodies["html"].count("Allies draft NATO-style security guarantees") == 2
    assert "Russia demands Ukraine withdraw from Donbas" in bodies["html"]


def test_second_send_sends_nothing_new(newsroom: Newsroom) -> None:
    monitor = started(newsroom)
    newsroom.publish("wire", "assets")
    newsroom.fetch(monitor)
    (first,) = monitor.send_digests()
    newsroom.clock.advance(minutes=5)

    (second,) = monitor.send_digests()

    assert first.status == "sent"
    assert second.status == "empty"
    assert second.digest.article_count == 0
    assert len(newsroom.smtp.received) == 1  # no email for an empty period by default
    note = Path(second.digest.deliveries[0].target).read_text(encoding="utf-8")
    assert "No new items" in note
    first_file = Path(first.digest.deliveries[0].target)
    assert Path(second.digest.deliveries[0].target).name != first_file.name
    assert len(ledger_items(monitor)) == 1


def test_digest_built_but_not_delivered_is_delivered_by_the_next_run(newsroom: Newsroom) -> None:
    monitor = started(newsroom)
    newsroom.publish("wire", "relations")
    newsroom.fetch(monitor)
    # A process builds the digest and dies before delivering it.
    built, _ = monitor.digests.build("daily", newsroom.clock.now)
    monitor.close()

    restarted = newsroom.monitor()
    newsroom.clock.advance(minutes=2)
    retried, fresh = restarted.send_digests()

    assert retried.digest.id == built.id
    assert retried.status == "sent"
    assert fresh.status == "empty"
    (message,) = newsroom.smtp.received
    assert message["Message-ID"] == built.message_id
    assert "Trump and Zelensky discuss minerals deal" in parts(message)["plain"]


def test_preview_records_and_sends_nothing(
    newsroom: Newsroom, run_cli: Callable[..., Result]
) -> None:
    monitor = started(newsroom)
    newsroom.publish("daily", "donbas")
    newsroom.fetch(monitor)

    (preview,) = monitor.preview_digests()

    assert "Russia demands Ukraine withdraw from Donbas" in preview.body.markdown
    assert monitor.storage.list_digests() == []
    assert newsroom.smtp.received == []
    assert not newsroom.digests_dir.exists()


def _donbas_fetched_on_sqlite(newsroom: Newsroom) -> Monitor:
    """A started monitor that has fetched one briefing story (the lock tests are SQLite's)."""
    if not newsroom.database_url.startswith("sqlite"):
        pytest.skip(reason="the write lock is SQLite's; PostgreSQL readers never wait")
    monitor = started(newsroom)
    newsroom.publish("daily", "donbas")
    newsroom.fetch(monitor)
    return monitor


@contextmanager
def _write_locked(newsroom: Newsroom) -> Iterator[Path]:
    """A config with a 1 s busy timeout, while another connection holds SQLite's write lock
    (as a daemon storing a big fetch does)."""
    path = newsroom.write_config(
        None, database={"url": newsroom.database_url, "busy_timeout": "1s"}
    )
    writer = sqlite3.connect(newsroom.database_url.removeprefix("sqlite:///"), timeout=0)
    writer.isolation_level = None
    try:
        writer.execute("BEGIN IMMEDIATE")
        yield path
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_preview_status_and_the_ledger_wait_for_no_writer(newsroom: Newsroom) -> None:
    # Looking at what the daemon holds only reads: on SQLite, a preview or `status` must not
    # queue for the write lock of a daemon storing a big fetch (nor hold the daemon up).
    monitor = _donbas_fetched_on_sqlite(newsroom)
    monitor.send_digests()
    newsroom.publish("wire", "assets")
    newsroom.fetch(monitor)
    monitor.close()
    with (
        _write_locked(newsroom) as path,
        make_monitor(load_config(path, environ={}), clock=newsroom.clock) as monitor,
    ):
        (preview,) = monitor.preview_digests()
        report = monitor.status()
        (sent,) = monitor.storage.list_digests()

    assert "Frozen Russian assets" in preview.body.markdown
    assert "Donbas" not in preview.body.markdown  # taken by the digest sent before
    assert report.articles == 3
    assert sent.article_count == 1


def test_the_read_only_commands_wait_for_no_writer(
    newsroom: Newsroom, run_cli: Callable[..., Result]
) -> None:
    # As the commands run them: opening the monitor mirrors the config into the database, and
    # with nothing to change that must not queue for the write lock either.
    _donbas_fetched_on_sqlite(newsroom).close()
    with _write_locked(newsroom) as path:
        for command in (
            ["status"],
            ["digest", "preview"],
            ["digest", "list"],
            ["feeds", "list"],
            ["topics", "list"],
            ["articles", "list"],
            ["search", "Donbas"],
        ):
            result = run_cli("--config", str(path), *command)
            assert result.exit_code == 0, f"newswatch {' '.join(command)}: {result.output}"


# -- schedules ---------------------------------------------------------------------------------


def test_missed_slots_are_caught_up_by_one_digest_covering_the_gap(newsroom: Newsroom) -> None:
    monitor = started(newsroom)
    (first,) = monitor.send_digests()
    newsroom.publish("wire", "assets")
    newsroom.fetch(monitor)
    # newswatch is down for three days: three 07:00 slots pass.
    newsroom.clock.advance(days=3)
    newsroom.publish("daily", "donbas")
    newsroom.fetch(monitor)

    runs = monitor.run_scheduled_digest("daily")
    again = monitor.run_scheduled_digest("daily")

    (caught_up,) = runs
    assert again == []
    assert caught_up.status == "sent"
    zone = monitor.config.digests["daily"].zone
    slot = caught_up.digest.period_end.astimezone(zone)
    assert (slot.hour, slot.minute) == (7, 0)
    assert caught_up.digest.period_end <= newsroom.clock.now
    assert newsroom.clock.now - caught_up.digest.period_end < timedelta(days=1)
    assert caught_up.digest.period_start == first.digest.period_end
    # The slot ends before the article fetched after the restart: that one waits for the next.
    assert caught_up.digest.article_count == 1
    assert "frozen Russian assets" in parts(newsroom.smtp.received[-1])["plain"]
    (preview,) = monitor.preview_digests()
    assert preview.view.articles == 1
    assert "Russia demands Ukraine withdraw from Donbas" in preview.body.text
    assert len(newsroom.smtp.received) == 1  # the first digest was empty: no email


def test_daily_slots_across_a_dst_change_keep_local_time_and_dates(
    newsroom: Newsroom, clock: Clock
) -> None:
    # Kyiv leaves summer time on Sunday 25 October 2026 (04:00 EEST -> 03:00 EET).
    clock.now = datetime(2026, 10, 23, 12, 0, tzinfo=UTC)
    monitor = started(newsroom)
    monitor.send_digests()
    ends = []
    for day in (24, 25, 26):
        clock.now = datetime(2026, 10, day, 1, 0, tzinfo=UTC)
        newsroom.publish("wire", "assets", suffix=f"-{day}")
        newsroom.fetch(monitor)
        clock.now = datetime(2026, 10, day, 9, 0, tzinfo=UTC)
        (run,) = monitor.run_scheduled_digest("daily")
        assert run.status == "sent"
        ends.append(run.digest.period_end)
    slots = [e.strftime("%m-%d %H:%M") for e in ends]
    assert slots == ["10-24 04:00", "10-25 05:00", "10-26 05:00"]  # UTC: 07:00 EEST, then EET
    names = sorted(p.name for p in (newsroom.digests_dir / "daily").glob("2026-10-2[4-6]*.md"))
    assert names == ["2026-10-24.md", "2026-10-25.md", "2026-10-26.md"]


def test_two_processes_building_the_same_slot_make_one_digest(newsroom: Newsroom) -> None:
    monitor = started(newsroom)
    newsroom.publish("wire", "assets")
    newsroom.fetch(monitor)
    other = newsroom.monitor()
    slot = newsroom.clock.now.replace(minute=0, second=0, microsecond=0)

    first, built_first = monitor.digests.build("daily", slot)
    second, built_second = other.digests.build("daily", slot)

    assert (built_first, built_second) == (True, False)
    assert second.id == first.id
    assert len(monitor.storage.list_digests()) == 1


# -- channels ----------------------------------------------------------------------------------


def test_channels_with_topic_subsets_each_get_their_articles_once(newsroom: Newsroom) -> None:
    digests = {
        "daily": newsroom.channel(),
        "assets-desk": {
            "topics": ["frozen-assets"],
            "markdown": {"dir": str(newsroom.digests_dir)},
        },
    }
    monitor = started(newsroom, digests)
    newsroom.publish("wire", "assets")
    newsroom.publish("daily", "donbas")
    newsroom.fetch(monitor)

    runs = {run.digest.channel: run for run in monitor.send_digests()}

    assert runs["daily"].digest.article_count == 2
    assert runs["assets-desk"].digest.article_count == 1
    desk = Path(runs["assets-desk"].digest.deliveries[0].target).read_text(encoding="utf-8")
    assert "frozen Russian assets" in desk
    assert "Donbas" not in desk
    assert len(newsroom.smtp.received) == 1  # the desk has no email delivery


def test_max_per_topic_lists_the_rest_compactly_and_still_records_them(
    newsroom: Newsroom,
) -> None:
    monitor = started(newsroom, {"daily": newsroom.channel(max_per_topic=1, email=None)})
    newsroom.publish("wire", "guarantees")
    newsroom.publish("daily", "guarantees-2")
    newsroom.fetch(monitor)

    (run,) = monitor.send_digests()

    markdown = Path(run.digest.deliveries[0].target).read_text(encoding="utf-8")
    assert "More in Security guarantees for Ukraine:" in markdown
    assert run.digest.article_count == 2


def test_send_empty_emails_a_note_for_an_empty_period(newsroom: Newsroom) -> None:
    monitor = started(newsroom, {"daily": newsroom.channel(send_empty=True)})

    (run,) = monitor.send_digests()

    assert run.status == "empty"
    (message,) = newsroom.smtp.received
    assert "No new items" in parts(message)["plain"]


# -- the command line --------------------------------------------------------------------------


def test_cli_send_list_and_failure_exit_codes(
    newsroom: Newsroom, run_cli: Callable[..., Result]
) -> None:
    # The CLI runs on the real clock: move the test clock there for the fetches.
    newsroom.clock.now = datetime.now(UTC) - timedelta(hours=2)
    monitor = started(newsroom)
    newsroom.publish("wire", "assets")
    newsroom.fetch(monitor)
    config = str(newsroom.write_config())
    newsroom.smtp.stop()

    failed = run_cli("--config", config, "digest", "send", "--json")

    assert failed.exit_code == 1
    result = json.loads(failed.stdout)
    assert result["digest"] == "daily"
    assert result["status"] == "failed"
    assert result["articles"] == 1
    assert "delivery failed: email analyst@example.org" in failed.stderr
    assert "cannot connect" in failed.stderr

    newsroom.smtp.start()
    sent = run_cli("--config", config, "digest", "send", "--json")
    assert sent.exit_code == 0, sent.stderr
    statuses = [json.loads(line)["status"] for line in sent.stdout.splitlines()]
    assert statuses == ["sent", "empty"]

    listing = run_cli("--config", config, "digest", "list")
    assert listing.exit_code == 0
    assert "sent" in listing.stdout
    assert "empty" in listing.stdout
    unknown = run_cli("--config", config, "digest", "send", "weekly")
    assert unknown.exit_code == 2
    assert "no digest channel 'weekly'" in unknown.stderr

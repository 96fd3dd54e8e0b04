"""``newswatch run`` as a real subprocess against a local feed server and a local SMTP server.

Intervals are seconds instead of minutes (``daemon.poll_interval: 0.5s``, feeds every 1-2 s,
digests on six-field cron schedules with a seconds field), so each test takes a few seconds.
"""

from __future__ import annotations

import itertools
import signal
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from builders import Clock, rss_document
from daemonproc import DaemonProcess
from feedserver import FeedServer
from newsroom import Newsroom
from newswatch.storage import open_storage
from smtpserver import SmtpServer

FAST = {"poll_interval": "0.5s", "heartbeat": "1s", "shutdown_timeout": "5s", "lease": "1m"}


@pytest.fixture
def room(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path, database_url: str
) -> Iterator[Newsroom]:
    newsroom = Newsroom(feed_server, smtp_server, tmp_path, database_url, Clock())
    yield newsroom
    newsroom.close()


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[Callable[[Path], DaemonProcess]]:
    started: list[DaemonProcess] = []

    def start(config: Path) -> DaemonProcess:
        daemon = DaemonProcess(config, tmp_path / f"daemon-{len(started)}.log").start()
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.kill()


def fast_config(room: Newsroom, *, schedule: str = "*/2 * * * * *", **channel: Any) -> Path:
    """A config with 1 s feeds and an email-only digest on a seconds schedule."""
    digest = room.channel(schedule=schedule, markdown=None, **channel)
    path = room.write_config({"daily": digest}, daemon=FAST)
    text = path.read_text(encoding="utf-8").replace("default_interval: 30m", "default_interval: 1s")
    path.write_text(text, encoding="utf-8")
    return path


def emails_with(smtp: SmtpServer, text: str) -> list[EmailMessage]:
    found = []
    for message in list(smtp.received):
        body = message.get_body(("plain",))
        if body is not None and text in str(body.get_content()):
            found.append(message)
    return found


def test_daemon_ingests_tags_and_sends_a_digest_on_its_schedule(
    room: Newsroom,
    daemons: Callable[[Path], DaemonProcess],
    run_cli: Callable[..., Result],
) -> None:
    config = fast_config(room)
    room.publish("wire", "bakery", suffix="-old")  # the first fetch is backlog
    daemon = daemons(config)
    daemon.wait_for_event("refresh.done")

    room.publish("wire", "assets")
    room.publish("daily", "donbas")
    title = "EU leaders debate using frozen Russian assets"
    (message,) = daemon.wait_for(lambda: emails_with(room.smtp, title), message="digest email")

    assert "Russia demands Ukraine withdraw from Donbas" in str(message.get_body(("plain",)))
    status = run_cli("--config", str(config), "status", "--json")
    assert '"daemon_running": true' in status.stdout
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(10) == 0
    assert daemon.events("daemon.stopped")
    stopped = run_cli("--config", str(config), "status", "--json")
    assert '"daemon_running": false' in stopped.stdout
    time.sleep(2.5)  # a slot passes after the stop: nothing more is sent
    assert len(emails_with(room.smtp, title)) == 1


def test_sigterm_stops_a_daemon_stuck_in_a_slow_fetch_within_the_timeout(
    room: Newsroom, feed_server: FeedServer, daemons: Callable[[Path], DaemonProcess]
) -> None:
    # One feed answers a byte at a time: the fetch would take far longer than the timeout.
    room.urls["wire"] = feed_server.route(
        "/wire.xml", body=b"<rss>" + b" " * 200 + b"</rss>", drip=0.5
    )
    config = fast_config(room)
    text = config.read_text(encoding="utf-8").replace("timeout: 3s", "timeout: 120s")
    config.write_text(text, encoding="utf-8")
    daemon = daemons(config)
    daemon.wait_for(lambda: feed_server.requests_to("/wire.xml"), message="the slow request")

    started = time.monotonic()
    daemon.signal(signal.SIGTERM)
    code = daemon.wait(15)

    assert code == 0
    assert time.monotonic() - started < 5 + 2  # shutdown_timeout plus start-up slack
    assert daemon.events("daemon.stopping")


def test_a_second_daemon_on_the_same_sqlite_database_refuses(
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    tmp_path: Path,
    daemons: Callable[[Path], DaemonProcess],
) -> None:
    room = Newsroom(feed_server, smtp_server, tmp_path, f"sqlite:///{tmp_path}/n.db", Clock())
    config = fast_config(room)
    first = daemons(config)
    first.wait_for_event("daemon.started")

    second = daemons(config)
    code = second.wait(15)

    assert code == 1
    assert f"another newswatch daemon (pid {first.pid}) is already running" in second.tail()
    assert first.process is not None
    assert first.process.poll() is None  # the first one is unharmed
    room.close()


def test_sighup_reloads_a_valid_config_and_keeps_the_old_one_when_invalid(
    room: Newsroom, daemons: Callable[[Path], DaemonProcess]
) -> None:
    config = fast_config(room)
    daemon = daemons(config)
    daemon.wait_for_event("daemon.started")
    original = config.read_text(encoding="utf-8")

    config.write_text(original + "\nfetch_typo: 1\n", encoding="utf-8")
    daemon.signal(signal.SIGHUP)
    (failed,) = daemon.wait_for_event("config.reload_failed")
    assert "fetch_typo" in failed["error"]

    config.write_text(original.replace("'*/2 * * * * *'", "'*/3 * * * * *'"), encoding="utf-8")
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_event("config.reloaded")
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(10) == 0


def test_sigkill_during_ingestion_then_restart_loses_and_duplicates_nothing(
    room: Newsroom, daemons: Callable[[Path], DaemonProcess]
) -> None:
    # Many entries per feed, so a kill lands in the middle of storing them.
    for index in range(150):
        room.publish("wire", "assets", suffix=f"-{index}")
        room.publish("daily", "donbas", suffix=f"-{index}")
    config = fast_config(room)
    config.write_text(
        config.read_text(encoding="utf-8")
        .replace("name: Wire", "name: Wire\n  backfill: true")
        .replace("name: Daily", "name: Daily\n  backfill: true"),
        encoding="utf-8",
    )
    for delay in (0.6, 0.9, 1.2, 1.5):
        daemon = daemons(config)
        daemon.wait_for_event("daemon.started")
        time.sleep(delay)
        daemon.kill()  # SIGKILL: no clean-up at all
    daemon = daemons(config)
    daemon.wait_for_event("daemon.started")
    daemon.wait_for(
        lambda: (
            len(emails_with(room.smtp, "frozen Russian assets")) >= 1
            and _counts(room.database_url)[0] == 300
        ),
        timeout=40,
        message="all 300 articles stored and a digest sent",
    )
    time.sleep(2.5)  # let any further slot pass
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(10) == 0

    articles, distinct_keys, items, distinct_items = _counts(room.database_url)
    assert articles == distinct_keys == 300
    assert items == distinct_items == 300  # every article in exactly one digest


def _counts(url: str) -> tuple[int, int, int, int]:
    from sqlalchemy import text

    with open_storage(url, migrate=False) as storage:
        engine = storage._engine
        with engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT (SELECT count(*) FROM articles),"
                    " (SELECT count(DISTINCT entry_key) FROM articles),"
                    " (SELECT count(*) FROM digest_items),"
                    " (SELECT count(DISTINCT article_id) FROM digest_items)"
                )
            ).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def test_a_slot_missed_while_stopped_is_sent_once_after_restart(
    room: Newsroom, daemons: Callable[[Path], DaemonProcess], run_cli: Callable[..., Result]
) -> None:
    config = fast_config(room, schedule="*/2 * * * * *")
    room.publish("wire", "bakery", suffix="-old")
    assert run_cli("--config", str(config), "fetch").exit_code == 0  # backlog
    assert run_cli("--config", str(config), "digest", "send").exit_code == 0  # empty
    room.publish("daily", "relations")
    time.sleep(1.1)  # the feed is due again
    assert run_cli("--config", str(config), "fetch").exit_code == 0
    time.sleep(2.1)  # a slot passes while no daemon runs

    daemon = daemons(config)
    daemon.wait_for_event("daemon.started")
    title = "Trump and Zelensky discuss minerals deal"
    daemon.wait_for(lambda: emails_with(room.smtp, title), message="the caught-up digest")
    time.sleep(4.5)  # two more slots
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(10) == 0

    assert len(emails_with(room.smtp, title)) == 1


@pytest.mark.postgres
def test_two_daemons_on_one_postgresql_database_share_feeds_and_send_one_digest(
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    tmp_path: Path,
    postgres_url: str,
    daemons: Callable[[Path], DaemonProcess],
) -> None:
    room = Newsroom(feed_server, smtp_server, tmp_path, postgres_url, Clock())
    extra = {f"outlet{i}": f"/outlet{i}.xml" for i in range(6)}
    for path in extra.values():
        feed_server.route(path, body=rss_document([]), headers={"Content-Type": "text/xml"})
    config = fast_config(room)
    text = config.read_text(encoding="utf-8").replace(
        "default_interval: 1s", "default_interval: 2s"
    )
    feeds = "".join(f"- url: {feed_server.url_for(p)}\n" for p in extra.values())
    config.write_text(text.replace("feeds:\n", "feeds:\n" + feeds), encoding="utf-8")
    room.publish("wire", "bakery", suffix="-old")

    first, second = daemons(config), daemons(config)
    first.wait_for_event("daemon.started")
    second.wait_for_event("daemon.started")
    time.sleep(2.5)  # past the backlog fetch
    room.publish("wire", "assets")
    title = "EU leaders debate using frozen Russian assets"
    first.wait_for(lambda: emails_with(room.smtp, title), message="the digest email")
    time.sleep(5)  # more slots and fetch rounds for both daemons
    for daemon in (first, second):
        daemon.signal(signal.SIGTERM)
    assert [first.wait(10), second.wait(10)] == [0, 0]

    assert len(emails_with(room.smtp, title)) == 1  # one digest, not two
    for path in [*extra.values(), "/wire.xml", "/daily.xml"]:
        times = [r.received_at for r in feed_server.requests_to(path)]
        assert len(times) >= 3, path
        gaps = [b - a for a, b in itertools.pairwise(times)]
        # Each feed once per interval (2 s, minus 10 % jitter): never by both daemons at once.
        assert min(gaps) > 1.5, (path, gaps)
    fetched_by = [sum(e["feeds"] for e in d.events("refresh.done")) for d in (first, second)]
    assert sum(fetched_by) >= 8 * 3
    room.close()


def test_prometheus_endpoint_reports_fetches_digests_and_durations(
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    tmp_path: Path,
    unused_port: int,
    daemons: Callable[[Path], DaemonProcess],
) -> None:
    import httpx

    room = Newsroom(feed_server, smtp_server, tmp_path, f"sqlite:///{tmp_path}/n.db", Clock())
    config = fast_config(room)
    config.write_text(
        config.read_text(encoding="utf-8") + f"metrics:\n  enabled: true\n  port: {unused_port}\n",
        encoding="utf-8",
    )
    daemon = daemons(config)
    daemon.wait_for_event("refresh.done")
    daemon.wait_for_event("digest.run")

    page = httpx.get(f"http://127.0.0.1:{unused_port}/metrics", timeout=5).text

    assert 'newswatch_fetches_total{outcome="fetched"} 2.0' in page
    assert 'newswatch_job_duration_seconds_count{job="refresh"}' in page
    assert 'newswatch_digest_runs_total{channel="daily",status="empty"}' in page
    assert 'newswatch_feeds{status="ok"} 2.0' in page
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(10) == 0
    room.close()

"""SMTP rows of the fault matrix: a real aiosmtpd server refusing, stalling, answering 4xx/5xx,
dropping the connection in DATA, refusing authentication. Temporary failures are retried with
the same content and Message-ID; permanent ones are reported, not retried for ever; nothing is
lost or sent twice.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builders import Clock
from feedserver import FeedServer
from newsroom import Newsroom, ledger_items, parts, started
from newswatch.model import DeliveryStatus, DigestStatus
from smtpserver import PASSWORD, USERNAME, Mode, SmtpServer


def test_smtp_down_then_back_delivers_pending_articles_exactly_once(newsroom: Newsroom) -> None:
    monitor = started(newsroom)
    newsroom.publish("wire", "assets")
    newsroom.fetch(monitor)
    newsroom.smtp.stop()

    (failed,) = monitor.send_digests()

    assert failed.status == "failed"
    assert "cannot connect" in failed.errors[0]
    assert failed.digest.status is DigestStatus.PENDING  # kept for a retry
    email = next(d for d in failed.digest.deliveries if d.kind == "email")
    assert email.status is DeliveryStatus.PENDING
    assert email.next_attempt_at is not None

    # More news arrives while the mail server is down; then it comes back.
    newsroom.publish("daily", "donbas")
    newsroom.fetch(monitor)
    newsroom.smtp.start()
    retried, fresh = monitor.send_digests()

    assert retried.digest.id == failed.digest.id
    assert retried.status == "sent"
    assert fresh.status == "sent"
    first, second = newsroom.smtp.received
    assert first["Message-ID"] == failed.digest.message_id
    assert "frozen Russian assets" in parts(first)["plain"]
    assert "Donbas" not in parts(first)["plain"]
    assert "Russia demands Ukraine withdraw from Donbas" in parts(second)["plain"]
    assert "frozen Russian assets" not in parts(second)["plain"]
    items = ledger_items(monitor)
    assert len(items) == len(set(items)) == 2


@pytest.mark.parametrize(
    ("mode", "temporary", "reason"),
    [
        (Mode(reply_at="mail", reply="421 4.3.2 service shutting down"), True, "421"),
        (Mode(reply_at="rcpt", reply="450 4.2.1 mailbox busy"), True, "450"),
        (Mode(reply_at="data", reply="451 4.3.0 local error"), True, "451"),
        (Mode(reply_at="rcpt", reply="550 5.1.1 user unknown"), False, "550"),
        (Mode(reply_at="mail", reply="553 5.1.8 sender rejected"), False, "553"),
        (Mode(drop_during_data=True), True, "closed"),
        (Mode(stall_seconds=2.5), True, "timed out"),
    ],
    ids=["421", "450", "451", "550", "553", "dropped-in-data", "timeout"],
)
def test_smtp_failures_are_retried_only_when_temporary(
    newsroom: Newsroom, mode: Mode, temporary: bool, reason: str
) -> None:
    channel = newsroom.channel()
    channel["email"]["smtp"]["timeout"] = "1s"
    monitor = started(newsroom, {"daily": channel})
    newsroom.publish("wire", "nato")
    newsroom.fetch(monitor)
    newsroom.smtp.mode = mode

    (run,) = monitor.send_digests()

    assert run.status == "failed"
    assert reason in run.errors[0]
    email = next(d for d in run.digest.deliveries if d.kind == "email")
    assert email.last_error is not None
    assert reason in email.last_error
    newsroom.smtp.mode = Mode()
    newsroom.smtp.received.clear()  # a stalled DATA may have been accepted after the timeout
    newsroom.clock.advance(minutes=1)
    runs = monitor.send_digests()

    retried = [r for r in runs if r.digest.id == run.digest.id]
    if temporary:
        assert email.status is DeliveryStatus.PENDING
        assert retried[0].status == "sent"
        assert [m["Message-ID"] for m in newsroom.smtp.received] == [run.digest.message_id]
    else:
        assert email.status is DeliveryStatus.FAILED
        assert run.digest.status is DigestStatus.FAILED
        assert retried == []  # reported, not retried forever
        assert newsroom.smtp.received == []
    assert len(ledger_items(monitor)) == 1


def test_authentication_failure_is_clear_and_never_shows_the_password(
    feed_server: FeedServer,
    smtp_auth_server: SmtpServer,
    tmp_path: Path,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    room = Newsroom(feed_server, smtp_auth_server, tmp_path, f"sqlite:///{tmp_path}/n.db", clock)
    channel = room.channel()
    channel["email"]["smtp"].update(username=USERNAME, password_env="DIGEST_SMTP_PASSWORD")
    monkeypatch.setenv("DIGEST_SMTP_PASSWORD", "wrong-" + PASSWORD)
    try:
        monitor = started(room, {"daily": channel})
        room.publish("wire", "assets")
        room.fetch(monitor)

        (run,) = monitor.send_digests()
        assert run.status == "failed"
        assert f"authentication as '{USERNAME}' refused: 535" in run.errors[0]
        assert PASSWORD not in json.dumps([run.errors, str(run.digest)])

        monkeypatch.setenv("DIGEST_SMTP_PASSWORD", PASSWORD)
        room.clock.advance(minutes=1)
        # 535 is permanent: the digest is reported failed and not retried.
        assert [r.status for r in monitor.send_digests()] == ["empty"]
        assert smtp_auth_server.received == []
        assert monitor.storage.list_digests()[-1].status is DigestStatus.FAILED
    finally:
        room.close()

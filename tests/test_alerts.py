"""Immediate topic alerts: a high-scoring match is sent at once, once, by email and webhook."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from builders import Clock
from feedserver import FeedServer
from newsroom import REPO, Newsroom
from newswatch.app import Monitor, make_monitor
from newswatch.config import load_config
from smtpserver import Mode, SmtpServer


@pytest.fixture
def room(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path, database_url: str
) -> Iterator[Newsroom]:
    newsroom = Newsroom(feed_server, smtp_server, tmp_path, database_url, Clock())
    yield newsroom
    newsroom.close()


def alerting_monitor(room: Newsroom, feed_server: FeedServer, **alert: Any) -> Monitor:
    """A monitor whose frozen-assets topic alerts by email and to a webhook on the server."""
    topics = yaml.safe_load((REPO / "config" / "topics.yaml").read_text(encoding="utf-8"))
    hook = feed_server.route("/hook", status=204)
    for topic in topics["topics"]:
        if topic["slug"] == "frozen-assets":
            topic["alert"] = {
                "min_score": 0.9,
                "email": {
                    "to": ["desk@example.org"],
                    "from": "alerts@example.org",
                    "smtp": room.smtp.smtp_config(),
                },
                "webhook": hook,
                **alert,
            }
    topics_file = room.folder / "topics.yaml"
    topics_file.write_text(yaml.safe_dump(topics, sort_keys=False), encoding="utf-8")
    path = room.write_config()
    text = path.read_text(encoding="utf-8").replace(
        str(REPO / "config" / "topics.yaml"), str(topics_file)
    )
    path.write_text(text, encoding="utf-8")
    monitor = make_monitor(load_config(path, environ={}), clock=room.clock)
    room._opened.append(monitor)
    return monitor


def test_a_high_scoring_match_is_alerted_once_by_email_and_webhook(
    room: Newsroom, feed_server: FeedServer
) -> None:
    room.publish("wire", "bakery", suffix="-old")
    monitor = alerting_monitor(room, feed_server)
    room.fetch(monitor)
    assert monitor.send_alerts() == []  # the first run only marks the start

    room.publish("wire", "assets")  # frozen assets, score 0.98
    room.publish("daily", "donbas")  # another topic: no alert
    room.fetch(monitor)
    (run,) = monitor.send_alerts()
    again = monitor.send_alerts()

    assert run.status == "sent"
    assert run.digest.channel == "alert-frozen-assets"
    assert again == []
    (message,) = room.smtp.received
    assert message["To"] == "desk@example.org"
    body = str(message.get_body(("plain",)))
    assert "EU leaders debate using frozen Russian assets" in body
    assert "Donbas" not in body
    assert "Trend" not in body  # an alert shows the stories, not the overview
    (hook,) = feed_server.requests_to("/hook")
    payload = json.loads(hook.body)
    assert payload["digest"] == "alert-frozen-assets"
    assert payload["message_id"] == message["Message-ID"]
    assert "EU leaders debate using frozen Russian assets" in payload["text"]
    assert hook.headers["idempotency-key"] == message["Message-ID"]


def test_matches_below_the_alert_score_wait_for_the_digest(
    room: Newsroom, feed_server: FeedServer
) -> None:
    room.publish("wire", "bakery", suffix="-old")
    monitor = alerting_monitor(room, feed_server, min_score=0.99)
    room.fetch(monitor)
    monitor.send_alerts()
    room.publish("wire", "assets")  # scores 0.98 < 0.99
    room.fetch(monitor)

    assert monitor.send_alerts() == []
    (digest,) = monitor.send_digests()
    assert digest.digest.article_count == 1  # still in the daily digest


def test_a_failed_alert_is_retried_with_the_same_message(
    room: Newsroom, feed_server: FeedServer
) -> None:
    room.publish("wire", "bakery", suffix="-old")
    monitor = alerting_monitor(room, feed_server)
    room.fetch(monitor)
    monitor.send_alerts()
    room.publish("wire", "assets")
    room.fetch(monitor)
    room.smtp.mode = Mode(reply_at="mail", reply="421 try later")

    (failed,) = monitor.send_alerts()
    room.smtp.mode = Mode()
    room.clock.advance(minutes=5)
    (retried,) = monitor.send_alerts()

    assert failed.status == "failed"
    assert retried.digest.id == failed.digest.id
    assert retried.status == "sent"
    (message,) = room.smtp.received
    assert message["Message-ID"] == failed.digest.message_id
    assert len(feed_server.requests_to("/hook")) == 1  # the webhook had worked the first time

"""A newsroom for digest and daemon tests: two outlets over HTTP, a config, a mail server."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from typing import Any

import yaml

from builders import BRIEFING_NEWS, Clock, rss_document
from feedserver import FeedServer
from newswatch.app import Monitor, make_monitor
from newswatch.config import load_config
from smtpserver import SmtpServer

REPO = Path(__file__).resolve().parent.parent

TOPICS_FILE = REPO / "config" / "topics.yaml"


class Newsroom:
    """Two outlets, a newswatch config with a Markdown and an email channel, and a clock."""

    def __init__(
        self,
        feed_server: FeedServer,
        smtp: SmtpServer,
        folder: Path,
        database_url: str,
        clock: Clock,
    ) -> None:
        self.server = feed_server
        self.smtp = smtp
        self.folder = folder
        self.database_url = database_url
        self.clock = clock
        self.items: dict[str, list[tuple[str, str, str, str]]] = {"wire": [], "daily": []}
        self.urls = {name: self._serve(name) for name in self.items}
        self.digests_dir = folder / "digests"
        self._opened: list[Monitor] = []

    def _serve(self, outlet: str) -> str:
        body = rss_document(self.items[outlet], title=f"{outlet.title()} News")
        return self.server.route(
            f"/{outlet}.xml", body=body, headers={"Content-Type": "application/rss+xml"}
        )

    def publish(self, outlet: str, key: str, *, suffix: str = "") -> None:
        """Put one of the briefing stories into an outlet's feed (newest first)."""
        title, text = BRIEFING_NEWS[key]
        slug = f"{key}{suffix}"
        link = f"https://{outlet}.example/{slug}"
        self.items[outlet].insert(0, (f"{outlet}-{slug}", title, link, text))
        self._serve(outlet)

    def channel(self, **overrides: Any) -> dict[str, Any]:
        """A digest channel config with both deliveries (override any key)."""
        channel: dict[str, Any] = {
            "schedule": "0 7 * * *",
            "timezone": "Europe/Kyiv",
            "markdown": {"dir": str(self.digests_dir)},
            "email": {
                "to": ["analyst@example.org"],
                "from": "newswatch@example.org",
                "smtp": self.smtp.smtp_config(),
            },
        }
        channel.update(overrides)
        return channel

    def write_config(self, digests: dict[str, Any] | None = None, **sections: Any) -> Path:
        config = {
            "database": {"url": self.database_url},
            "fetch": {"timeout": "3s", "default_interval": "30m"},
            "feeds": [{"url": url, "name": name.title()} for name, url in self.urls.items()],
            "topics_file": str(TOPICS_FILE),
            "digests": digests if digests is not None else {"daily": self.channel()},
            **sections,
        }
        path = self.folder / "newswatch.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return path

    def monitor(self, digests: dict[str, Any] | None = None) -> Monitor:
        path = self.write_config(digests)
        monitor = make_monitor(load_config(path, environ={}), clock=self.clock)
        self._opened.append(monitor)
        return monitor

    def fetch(self, monitor: Monitor) -> None:
        self.clock.advance(minutes=31)
        monitor.fetch(everything=True)

    def close(self) -> None:
        for monitor in self._opened:
            monitor.close()


def started(room: Newsroom, digests: dict[str, Any] | None = None) -> Monitor:
    """A monitor whose first fetch (all backlog) is done, so later articles count as news."""
    room.publish("wire", "bakery", suffix="-old")
    monitor = room.monitor(digests)
    room.fetch(monitor)
    return monitor


def parts(message: EmailMessage) -> dict[str, str]:
    """The text and HTML alternatives of a digest email."""
    found: dict[str, str] = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            assert isinstance(part, EmailMessage)
            found[part.get_content_subtype()] = str(part.get_content())
    return found


def ledger_items(monitor: Monitor, channel: str = "daily") -> list[int]:
    ids: list[int] = []
    for digest in monitor.storage.list_digests(channel, limit=1000):
        full = monitor.storage.get_digest(digest.id)
        assert full is not None
        ids.extend(item.article_id for item in full.items)
    return ids


# -- the user's first digest ------------------------------------------------------------------

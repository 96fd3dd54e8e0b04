"""Security rows of the fault matrix: hostile feed content, secrets, exposed endpoints.

(Article-page fetching refusing private addresses is tested at the fetcher, where a "public"
feed can be simulated: tests/test_ingest.py::test_article_links_to_private_addresses_are_refused.)

Each test drives newswatch the way a user does (fetch, digest, daemon) and asserts on what
leaves it: the rendered Markdown and email, requests made, logs and ``status`` output.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import Result

from builders import Clock
from daemonproc import DaemonProcess
from feedserver import FeedServer
from newsroom import Newsroom
from smtpserver import PASSWORD, USERNAME, SmtpServer

HOSTILE_TITLE = 'Frozen Russian assets <script>alert("t")</script><img src=x onerror=alert(1)>'
HOSTILE_TEXT = (
    "Belgium resists a plan to use Russian central bank assets frozen at Euroclear for a "
    'reparations loan. <iframe src="https://evil.example/frame"></iframe>'
    '<a href="javascript:alert(document.cookie)">click</a>'
    '<img src="https://tracker.example/pixel.gif" width="1" height="1">'
)


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.extend((name, value or "") for name, value in attrs)


@pytest.fixture
def room(feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path) -> Iterator[Newsroom]:
    newsroom = Newsroom(feed_server, smtp_server, tmp_path, f"sqlite:///{tmp_path}/n.db", Clock())
    yield newsroom
    newsroom.close()


def test_feed_markup_never_reaches_the_digest_unsanitised(room: Newsroom) -> None:
    room.publish("wire", "bakery", suffix="-old")
    monitor = room.monitor()
    room.fetch(monitor)
    room.items["wire"].insert(0, ("evil-1", HOSTILE_TITLE, "javascript:alert(1)", HOSTILE_TEXT))
    room.items["daily"].insert(
        0, ("evil-2", HOSTILE_TITLE, "data:text/html,<script>alert(2)</script>", HOSTILE_TEXT)
    )
    room._serve("wire")
    room._serve("daily")
    room.fetch(monitor)

    (run,) = monitor.send_digests()

    assert run.digest.article_count >= 1  # the hostile articles matched and were delivered
    (message,) = room.smtp.received
    html = str(message.get_body(("html",)).get_content())  # type: ignore[union-attr]
    audit = _Audit()
    audit.feed(html)
    assert {"script", "iframe", "img", "object", "embed"}.isdisjoint(audit.tags)
    assert not [name for name, _ in audit.attributes if name.startswith("on")]
    hrefs = [value for name, value in audit.attributes if name == "href"]
    assert all(h.startswith(("http://", "https://", "#")) for h in hrefs), hrefs
    assert "tracker.example" not in html
    markdown = Path(
        next(d.target for d in run.digest.deliveries if d.kind == "markdown")
    ).read_text(encoding="utf-8")
    assert "<script" not in markdown.replace("\\<script", "")
    assert "](javascript:" not in markdown
    assert "](data:" not in markdown


def test_secrets_never_appear_in_logs_errors_or_status(
    room: Newsroom,
    run_cli: Callable[..., Result],
    smtp_auth_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    channel = room.channel()
    channel["email"]["smtp"] = smtp_auth_server.smtp_config(
        username=USERNAME, password_env="NW_SMTP_SECRET"
    )
    config = room.write_config({"daily": channel})
    wrong = "wrong-" + PASSWORD
    monkeypatch.setenv("NW_SMTP_SECRET", wrong)
    room.publish("wire", "assets")

    outputs = [
        run_cli("-vv", "--config", str(config), "fetch", env={"NW_SMTP_SECRET": wrong}),
        run_cli("-vv", "--config", str(config), "digest", "send", "--json"),
        run_cli("--config", str(config), "status", "--json"),
        run_cli("--config", str(config), "digest", "list", "--json"),
    ]

    assert outputs[1].exit_code in (0, 1)
    for result in outputs:
        assert wrong not in result.stdout + result.stderr
        assert PASSWORD not in result.stdout + result.stderr


@pytest.mark.postgres
def test_database_password_is_masked_everywhere(
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    tmp_path: Path,
    postgres_url: str,
    run_cli: Callable[..., Result],
) -> None:
    # The test server trusts local connections, so a password in the URL is accepted unused.
    url = postgres_url.replace("postgres@", "postgres:Sup3r-Secret-Pw@", 1)
    assert "Sup3r-Secret-Pw" in url
    room = Newsroom(feed_server, smtp_server, tmp_path, url, Clock())
    config = room.write_config()
    results = [
        run_cli("-vv", "--config", str(config), "fetch"),
        run_cli("--config", str(config), "status", "--json"),
        run_cli("--config", str(config), "status"),
    ]
    bad = room.write_config().read_text(encoding="utf-8").replace("127.0.0.1", "127.0.0.2")
    (tmp_path / "bad.yaml").write_text(bad.replace(str(tmp_path), str(tmp_path)), encoding="utf-8")
    results.append(run_cli("--config", str(tmp_path / "bad.yaml"), "status"))

    assert json.loads(results[1].stdout)["database"].count("***") == 1
    for result in results:
        assert "Sup3r-Secret-Pw" not in result.stdout + result.stderr
    room.close()


def test_the_metrics_endpoint_listens_on_loopback_only_by_default(
    room: Newsroom, unused_port: int, tmp_path: Path
) -> None:
    config = room.write_config(
        daemon={"poll_interval": "1s", "heartbeat": "1s"},
        metrics={"enabled": True, "port": unused_port},
    )
    daemon = DaemonProcess(config, tmp_path / "daemon.log").start()
    try:
        daemon.wait_for_event("daemon.started")
        listening = daemon.wait_for(
            lambda: _listeners(unused_port), message=f"a listener on port {unused_port}"
        )
        assert listening == {"127.0.0.1"}
    finally:
        daemon.signal(signal.SIGTERM)
        daemon.wait(10)


def _listeners(port: int) -> set[str]:
    """Local addresses listening on ``port``, from /proc/net/tcp{,6} (Linux)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                if len(address) == 8:
                    found.add(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
                else:
                    found.add("ipv6:" + address)
    return found

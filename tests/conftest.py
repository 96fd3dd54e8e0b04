"""Shared fixtures: databases (SQLite and a real PostgreSQL), config files, the CLI."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from builders import Clock
from feedserver import FeedServer, feed_server_fixture
from newsroom import Newsroom
from newswatch.app import Monitor, make_monitor
from newswatch.cli import cli
from newswatch.config import load_config
from newswatch.storage import Storage, open_storage
from smtpserver import SmtpServer, smtp_server_fixture

#: Set by .ci/run: a PostgreSQL server where the tests may create and drop databases.
POSTGRES_ENV = "NEWSWATCH_TEST_POSTGRES_URL"
REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def _postgres_admin_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(reason=f"no PostgreSQL server for this run: set {POSTGRES_ENV} (.ci/run does)")
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = make_url(_postgres_admin_url())
    name = f"nw_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, then a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'newswatch.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def storage(database_url: str) -> Iterator[Storage]:
    """Storage on a freshly migrated database of each kind."""
    with open_storage(database_url) as opened:
        yield opened


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a config file (a dict, or YAML text) into the test's folder and return its path."""

    def write(content: dict[str, Any] | str, name: str = "newswatch.yaml") -> Path:
        path = tmp_path / name
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Result]]:
    """Run the newswatch CLI in-process; the environment carries no newswatch settings."""
    for name in ("NEWSWATCH_CONFIG", "NEWSWATCH_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    yield run
    # `-v` points a log handler at the runner's captured stderr; do not let it outlive the test.
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == "newswatch":
            root.removeHandler(handler)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A real HTTP server on 127.0.0.1 (port 0) serving routes the test declares."""
    yield from feed_server_fixture()


@pytest.fixture
def shared_feeds() -> Path:
    """The real-feed corpus in ../shared/data/feeds (skips where ../shared is absent)."""
    folder = SHARED / "data" / "feeds"
    if not (folder / "MANIFEST.tsv").exists():
        why = f"{folder} not found: the real-feed tests need ../shared beside the repo"
        pytest.skip(reason=why)
    return folder


@pytest.fixture
def unused_port() -> int:
    """A local TCP port nothing listens on (connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def clock() -> Clock:
    """A clock the test moves by hand, for monitors built by ``build``/``open_monitor``."""
    return Clock()


@pytest.fixture
def build(write_config: Callable[..., Path], clock: Clock) -> Iterator[Callable[..., Monitor]]:
    """Build monitors over a database URL and a list of feeds (closed after the test)."""
    opened: list[Monitor] = []

    def make(url: str, feeds: list[dict[str, Any]], **fetch: Any) -> Monitor:
        settings = {"timeout": "3s", "default_interval": "30m", **fetch}
        path = write_config({"database": {"url": url}, "fetch": settings, "feeds": feeds})
        monitor = make_monitor(load_config(path, environ={}), clock=clock)
        opened.append(monitor)
        return monitor

    yield make
    for monitor in opened:
        monitor.close()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that records what it receives."""
    yield from smtp_server_fixture()


@pytest.fixture
def smtp_auth_server() -> Iterator[SmtpServer]:
    """Like ``smtp_server``, but requiring AUTH (user ``digest``, see ``smtpserver.PASSWORD``)."""
    yield from smtp_server_fixture(auth=True)


@pytest.fixture
def newsroom(
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    tmp_path: Path,
    database_url: str,
    clock: Clock,
) -> Iterator[Newsroom]:
    """Two outlets on the feed server, a config with a Markdown and an email digest channel."""
    room = Newsroom(feed_server, smtp_server, tmp_path, database_url, clock)
    yield room
    room.close()

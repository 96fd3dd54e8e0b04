"""Storage rows of the fault matrix: a database locked by another writer, an unwritable folder.

Asserted as a user sees them: the command's exit code and its one-line error, what was kept,
and that the database is intact afterwards.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from builders import Clock
from feedserver import FeedServer
from newsroom import Newsroom
from smtpserver import SmtpServer


@pytest.fixture
def room(feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path) -> Iterator[Newsroom]:
    newsroom = Newsroom(feed_server, smtp_server, tmp_path, f"sqlite:///{tmp_path}/n.db", Clock())
    yield newsroom
    newsroom.close()


def locked_config(room: Newsroom) -> Path:
    path = room.write_config()
    text = path.read_text(encoding="utf-8")
    text = text.replace("database:\n", "database:\n  busy_timeout: 1s\n", 1)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_database_locked_by_another_writer_gives_a_clear_error_and_no_damage(
    room: Newsroom, run_cli: Callable[..., Result]
) -> None:
    config = locked_config(room)
    room.publish("wire", "assets")
    assert run_cli("--config", str(config), "status").exit_code == 0  # creates the database
    holder = sqlite3.connect(room.folder / "n.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing, and not letting go

    started = time.monotonic()
    result = run_cli("--config", str(config), "fetch")
    waited = time.monotonic() - started

    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("newswatch: error: ")
    assert str(room.folder / "n.db") in line
    assert "database is locked" in line
    assert "database.busy_timeout" in line
    assert waited >= 1  # it waited for the other writer first
    holder.execute("ROLLBACK")
    holder.close()
    assert run_cli("--config", str(config), "fetch").exit_code == 0
    check = sqlite3.connect(room.folder / "n.db")
    assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert check.execute("SELECT count(*) FROM articles").fetchone() == (1,)
    check.close()


def test_a_briefly_locked_database_is_waited_for(
    room: Newsroom, run_cli: Callable[..., Result]
) -> None:
    config = locked_config(room)
    room.publish("wire", "assets")
    assert run_cli("--config", str(config), "status").exit_code == 0
    holder = sqlite3.connect(room.folder / "n.db", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.4, lambda: holder.execute("ROLLBACK"))
    release.start()

    result = run_cli("--config", str(config), "fetch")

    release.join()
    holder.close()
    assert result.exit_code == 0, result.stderr
    assert "1 new" in result.stdout


def test_an_unwritable_digest_folder_is_reported_and_leaves_no_partial_files(
    room: Newsroom, run_cli: Callable[..., Result]
) -> None:
    room.publish("wire", "bakery", suffix="-old")
    monitor = room.monitor()
    room.fetch(monitor)
    room.publish("wire", "assets")
    room.fetch(monitor)
    # Where the channel's folder should be there is a file: nothing can be written there (this
    # works as root too, unlike permissions).
    room.digests_dir.mkdir()
    (room.digests_dir / "daily").write_text("not a folder")

    (run,) = monitor.send_digests()

    assert run.status == "failed"
    (error,) = run.errors
    assert error.startswith(f"markdown {room.digests_dir / 'daily'}")
    assert "cannot write" in error
    markdown = next(d for d in run.digest.deliveries if d.kind == "markdown")
    email = next(d for d in run.digest.deliveries if d.kind == "email")
    assert markdown.status.value == "failed"  # a person must fix it: not retried for ever
    assert email.status.value == "done"  # the other delivery is not held back
    assert sorted(p.name for p in room.digests_dir.iterdir()) == ["daily"]  # no temp files
    assert (room.digests_dir / "daily").read_text() == "not a folder"

"""Storage rows of the fault matrix: a database locked by another writer, an unwritable folder.

Asserted as a user sees them: the command's exit code and its one-line error, what was kept,
and that the database is intact afterwards.
"""

from __future__ import annotations

import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from builders import BRIEFING_NEWS, Clock
from feedserver import FeedServer
from newsroom import Newsroom
from smtpserver import SmtpServer

WORDS = [
    "harbour",
    "ledger",
    "tariff",
    "wheat",
    "orchard",
    "magnet",
    "quarry",
    "lantern",
    "violet",
    "summit",
    "cobalt",
    "meadow",
    "saddle",
    "timber",
    "canyon",
    "ribbon",
    "falcon",
    "pepper",
    "marble",
    "anchor",
    "glacier",
    "tundra",
    "velvet",
    "beacon",
    "compass",
    "fossil",
    "garnet",
    "hollow",
    "island",
    "jasmine",
    "kettle",
    "lagoon",
    "mosaic",
    "nectar",
    "oyster",
    "pylon",
]


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


def test_a_data_folder_that_cannot_be_created_is_one_clear_line(
    tmp_path: Path, run_cli: Callable[..., Result], write_config: Callable[..., Path]
) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be")
    config = write_config({"database": {"url": f"sqlite:///{blocker}/newswatch.db"}})

    result = run_cli("--config", str(config), "status")

    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line == f"newswatch: error: cannot create the database folder {blocker}: File exists"


def test_a_full_disk_while_delivering_is_reported_and_corrupts_nothing(
    room: Newsroom, run_cli: Callable[..., Result]
) -> None:
    room.publish("wire", "bakery", suffix="-old")
    monitor = room.monitor(
        {"daily": room.channel(email=None, markdown={"dir": str(room.digests_dir)})}
    )
    room.fetch(monitor)
    words = random.Random(5).choices(WORDS, k=40 * 12)
    for index in range(40):  # 40 distinct stories: a digest far larger than the space left
        title, text = BRIEFING_NEWS["assets"]
        own = " ".join(words[index * 12 : index * 12 + 12])
        room.items["wire"].insert(
            0,
            (f"big-{index}", f"{title}: {own}", f"https://wire.example/{index}", f"{own}. {text}"),
        )
    room._serve("wire")
    room.fetch(monitor)
    monitor.close()
    config = room.folder / "newswatch.yaml"
    database = room.folder / "n.db"
    # No file may grow past 16 KB any more: the database's log and the Markdown file both
    # need more. (RLIMIT_FSIZE caps each file's size; it is how a test can fill a disk.)
    limit = 16 * 1024

    def full_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes fail with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    result = subprocess.run(
        [sys.executable, "-m", "newswatch", "--config", str(config), "digest", "send"],
        capture_output=True,
        text=True,
        preexec_fn=full_disk,
        env=env,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("newswatch: error:")]
    assert errors
    assert any("File too large" in line or "disk" in line for line in errors), errors
    leftovers = [p.name for p in room.digests_dir.rglob("*") if p.name.startswith(".")]
    assert leftovers == []  # no half-written temporary file
    check = sqlite3.connect(database)
    assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    check.close()
    # With space again, the digest is delivered in full, its articles exactly once.
    after = run_cli("--config", str(config), "digest", "send", "--json")
    assert after.exit_code == 0, after.stderr
    check = sqlite3.connect(database)
    items = check.execute(
        "SELECT count(*), count(DISTINCT article_id) FROM digest_items"
    ).fetchone()
    check.close()
    assert items == (40, 40)

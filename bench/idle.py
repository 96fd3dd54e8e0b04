"""How much CPU the daemon uses between jobs.

Starts ``newswatch run`` on a fresh SQLite database with a few feeds from the benchmark corpus
(served on 127.0.0.1 by ``server.py``), a digest channel and the default topics; waits until
the first refresh has stored the articles; then reads the daemon's CPU time (user + system,
from ``/proc/PID/stat``) over a quiet window in which no feed is due, and prints it as a share
of one core. Not part of the test suite: it prints figures.

    .venv/bin/python bench/idle.py                 # 10 feeds, 120 s window
    .venv/bin/python bench/idle.py --seconds 600 --feeds 50
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import write_corpus  # noqa: E402
from server import ServerProcess  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_articles(command: list[str], environ: dict[str, str], timeout: float) -> int:
    """Poll ``newswatch status --json`` until articles are stored; return how many."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = subprocess.run(command, capture_output=True, text=True, env=environ, check=False)
        if done.returncode == 0:
            articles = int(json.loads(done.stdout).get("articles", 0))
            if articles:
                return articles
        time.sleep(1)
    raise SystemExit("the daemon stored nothing in time; see its log")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=10, help="feeds (10)")
    parser.add_argument("--seconds", type=float, default=120, help="quiet window (120)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="newswatch-idle-"))
    corpus = work / "corpus"
    write_corpus(corpus, args.feeds, 1)
    newswatch = str(Path(sys.executable).with_name("newswatch"))
    with ServerProcess(corpus / "base") as server:
        config = {
            "database": {"url": f"sqlite:///{work}/newswatch.db"},
            "feeds": [{"url": server.url + path, "interval": "1h"} for path in server.paths],
            "topics_file": str(ROOT / "config" / "topics.yaml"),
            "digests": {
                "daily": {"schedule": "0 7 * * *", "markdown": {"dir": str(work / "digests")}}
            },
            "daemon": {"poll_interval": "30s", "heartbeat": "30s"},
            "logging": {"format": "json"},
        }
        path = work / "newswatch.yaml"
        path.write_text(yaml.safe_dump(config))
        environ = {**os.environ, "NEWSWATCH_CONFIG": str(path)}
        with open(work / "daemon.log", "wb") as log:
            daemon = subprocess.Popen(
                [newswatch, "--config", str(path), "run"], stdout=log, stderr=log, env=environ
            )
        try:
            status = [newswatch, "--config", str(path), "status", "--json"]
            articles = wait_for_articles(status, environ, 120)
            time.sleep(5)  # the first pass's tagging and digest check
            before, started = cpu_seconds(daemon.pid), time.monotonic()
            time.sleep(args.seconds)
            used, elapsed = cpu_seconds(daemon.pid) - before, time.monotonic() - started
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(30)
    print(
        f"daemon idle: {args.feeds} feeds, {articles:,} articles stored; over {elapsed:.0f} s"
        f" it used {used:.2f} CPU s = {100 * used / elapsed:.2f} % of one core"
        f" (jobs in that window: refresh every 30 s with nothing due, heartbeat every 30 s,"
        f" the digest check every minute); files in {work}"
    )


if __name__ == "__main__":
    main()
